/**
 * A small real app for the deploy tests: a Debian builder (shared by every e2e
 * test, so mmdebstrap runs once per builder key), a parent with glibc and a child
 * with GNU hello. Both run: the parent's entrypoint is libc.so.6 itself, which
 * prints its version; the child says hello.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { debian, image } from '../../src';

export const bookworm = debian.builder('imgsdk-e2e/bookworm', { suite: 'bookworm' });

export const glibc = image('imgsdk-e2e/glibc')
  .builder(bookworm)
  .packages('libc6')
  .user('nobody')
  .entrypoint('/usr/lib/x86_64-linux-gnu/libc.so.6');

export const hello = image('imgsdk-e2e/hello').from(glibc).packages('hello').entrypoint('/usr/bin/hello');

/** A temp directory removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Removes every tag of the given repositories (ids), ignoring what is already gone. */
export async function removeImages(docker: Docker, ids: readonly string[]): Promise<void> {
  const images = await docker.listImages();
  for (const img of images) {
    for (const tag of img.RepoTags ?? []) {
      if (ids.some((id) => tag.startsWith(id + ':')))
        await docker
          .getImage(tag)
          .remove({ force: true })
          .catch(() => undefined);
    }
  }
}

/** Runs an image to the end (`cmd` as arguments to its entrypoint, or `entrypoint`); output, exit code and user. Removed after. */
export async function runImage(
  docker: Docker,
  ref: string,
  cmd: string[] = [],
  entrypoint?: string[],
): Promise<{ code: number; out: string; user: string }> {
  const c = await docker.createContainer({
    Image: ref,
    Cmd: cmd.length ? cmd : undefined,
    Entrypoint: entrypoint,
    Labels: { 'org.imgsdk.test': '1' },
  });
  try {
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const chunks: Buffer[] = [];
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.on('data', (d: Buffer) => chunks.push(d));
    docker.modem.demuxStream(stream, out, out);
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const info = await c.inspect();
    await new Promise((r) => setTimeout(r, 100));
    return { code: StatusCode, out: Buffer.concat(chunks).toString('utf8'), user: info.Config.User };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}
