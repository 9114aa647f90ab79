/**
 * Several Docker engines at once (for the three-engine test and the load figure):
 * each a dockerd of its own (data root, exec root, socket, bridge; see
 * _second-engine.ts for how it stays out of the host engine's way), started and
 * stopped by pid, with the host engine's builder image loaded into it, so no engine
 * bootstraps its own (one `docker save`, loaded into each).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { startSecondEngine, type SecondEngine } from './_second-engine';

/** Starts `n` engines; all or none (a failure stops the ones that came up). */
export async function startEngines(n: number): Promise<SecondEngine[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => startSecondEngine(i + 1)));
  const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) {
    await Promise.all(up.map((e) => e.stop()));
    throw failed.reason;
  }
  return up;
}

/** Copies an image (a `repo:tag` reference) from the host engine into every engine, through one saved archive. */
export async function copyImage(from: Docker, ref: string, to: readonly SecondEngine[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-e2e-save-'));
  try {
    const file = join(dir, 'image.tar');
    await pipeline(await from.getImage(ref).get(), createWriteStream(file));
    await Promise.all(
      to.map(async (e) => {
        const res = await e.docker.loadImage(createReadStream(file));
        await new Promise<void>((resolve, reject) => e.docker.modem.followProgress(res, (err) => (err ? reject(err) : resolve())));
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
