/**
 * The Debian builder image the engine tests share: a bookworm minbase made with
 * mmdebstrap once, tagged `imgsdk-test/bookworm:minbase`, reused while present.
 * Deliberately not labelled `org.imgsdk=1`, so `imgsdk clean` tests leave it alone.
 */
import type Docker from 'dockerode';
import { importMmdebstrap } from '../../src/runtime/phase1/builders/debian';
import { engineFromDocker } from '../../src/runtime/engine/docker';

export const TEST_BUILDER = 'imgsdk-test/bookworm:minbase';

let pending: Promise<string> | undefined;

/** Creates the shared test builder image when missing; its reference. */
export async function testBuilderImage(docker: Docker): Promise<string> {
  pending ??= create(docker).catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function create(docker: Docker): Promise<string> {
  const engine = engineFromDocker(docker);
  if (await engine.imageExists(TEST_BUILDER)) return TEST_BUILDER;
  const mirror = process.env.IMGSDK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  console.log(`# creating ${TEST_BUILDER} with mmdebstrap from ${mirror} (once, ~20 s)`);
  await importMmdebstrap(engine, { suite: 'bookworm', mirror, variant: 'minbase', include: [] }, TEST_BUILDER, [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'CMD ["/bin/sh"]',
    'LABEL org.imgsdk.test="1"',
  ]);
  return TEST_BUILDER;
}
