/**
 * Shared by the engine tests: a Docker client when an engine answers, else null
 * after saying why. With IMGSDK_REQUIRE_ENGINE=1 (CI) a missing engine is a
 * failure instead, so a broken CI engine can never pass as a skipped run.
 */
import Docker from 'dockerode';
import type { Engine } from '../../src/runtime/engine/engine';

const PING_TIMEOUT_MS = 5000;

/** Where dockerode looks: DOCKER_HOST, else the default socket. */
export function engineLocation(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/**
 * Returns a client for the engine at DOCKER_HOST or the default socket, or null
 * (with a printed message) when none answers; throws instead when
 * IMGSDK_REQUIRE_ENGINE=1.
 *
 * @example
 * const docker = await engineOrSkip();
 * if (!docker) return;
 */
export async function engineOrSkip(): Promise<Docker | null> {
  const where = engineLocation();
  let timer: NodeJS.Timeout | undefined;
  try {
    const docker = new Docker(); // reads DOCKER_HOST itself
    // A socket that accepts but never answers must not hang the suite.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    await Promise.race([docker.ping(), timeout]);
    return docker;
  } catch (err) {
    const why = `no container engine answers at ${where}: ${err instanceof Error ? err.message : String(err)}`;
    if (process.env.IMGSDK_REQUIRE_ENGINE === '1') {
      throw new Error(`${why} (IMGSDK_REQUIRE_ENGINE=1, so this fails instead of skipping)`, { cause: err });
    }
    console.log(`  skipped: ${why}`);
    return null;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** An engine that counts the containers the runtime asks for. */
export function counting(engine: Engine): { engine: Engine; containers: () => number } {
  let n = 0;
  const proxy = new Proxy(engine, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === 'withContainer' || prop === 'runContainer') {
        return (...args: unknown[]) => {
          n++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { engine: proxy, containers: () => n };
}
