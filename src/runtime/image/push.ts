/**
 * `deploy --push <registry>`: every tag of a built image is pushed as
 * `<registry>/<id>:<tag>` through the engine (`docker push`). Credentials come
 * from IMGSDK_REGISTRY_USER / IMGSDK_REGISTRY_PASSWORD, else from the `auths`
 * of the Docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`);
 * without either the push is anonymous (fine for a loopback registry).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BuildError, UsageError } from '../../contract/errors';
import { registryRef } from '../../contract/names';
import type { Engine, RegistryAuth } from '../engine/engine';

/** One pushed tag. */
export interface Pushed {
  /** `registry/id:tag` */
  readonly ref: string;
  /** Manifest digest the registry reported (pull by `registry/id@digest`). */
  readonly digest: string | null;
}

/** `host[:port]` with an optional path prefix; throws a UsageError otherwise. */
export function checkRegistry(registry: string): string {
  const r = registryRef(registry);
  if (r === null) throw new UsageError(`--push "${registry}" is not a registry (host[:port][/path])`);
  return r;
}

/**
 * Credentials for `registry` (its host part): environment first, then the
 * Docker config's `auths` (keys with or without scheme and /v1/, /v2/). Null
 * when there are none. A `credsStore`/`credHelpers` entry is not run.
 * @example registryAuth('127.0.0.1:5000', process.env) // null, or { serveraddress, username, password }
 */
export function registryAuth(registry: string, env: NodeJS.ProcessEnv = process.env): RegistryAuth | null {
  const host = registry.split('/')[0];
  if (env.IMGSDK_REGISTRY_USER || env.IMGSDK_REGISTRY_PASSWORD) {
    return { serveraddress: host, username: env.IMGSDK_REGISTRY_USER ?? '', password: env.IMGSDK_REGISTRY_PASSWORD ?? '' };
  }
  const file = join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }> };
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  const norm = (k: string) =>
    k
      .replace(/^https?:\/\//, '')
      .replace(/\/(v1|v2)\/?$/, '')
      .replace(/\/+$/, '');
  const hit = Object.entries(config.auths ?? {}).find(([k]) => norm(k) === host || (host === 'docker.io' && norm(k) === 'index.docker.io'));
  if (!hit) return null;
  const a = hit[1];
  if (a.identitytoken) return { serveraddress: host, identitytoken: a.identitytoken };
  if (a.auth) {
    const text = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    return { serveraddress: host, username: text.slice(0, i), password: text.slice(i + 1) };
  }
  if (a.username) return { serveraddress: host, username: a.username, password: a.password ?? '' };
  return null;
}

/**
 * Pushes every tag of image `imageId` (imgsdk id `id`) to `registry`. The
 * registry-qualified tags exist only for the push and are removed afterwards
 * (the image itself stays). A failure throws a BuildError naming the image.
 */
export async function pushImage(
  engine: Engine,
  registry: string,
  id: string,
  imageId: string,
  tags: readonly string[],
  opts: { readonly auth?: RegistryAuth | null; readonly log?: (line: string) => void } = {},
): Promise<Pushed[]> {
  const repo = `${registry}/${id}`;
  const out: Pushed[] = [];
  for (const tag of tags) {
    const ref = `${repo}:${tag}`;
    try {
      await engine.tagImage(imageId, repo, tag);
      const { digest } = await engine.pushImage(ref, { auth: opts.auth ?? undefined });
      opts.log?.(`pushed ${ref}${digest ? ` (${digest})` : ''}`);
      out.push({ ref, digest });
    } catch (err) {
      throw new BuildError(id, `push of ${ref} failed: ${(err as Error).message}`, { cause: err, phase: 'push' });
    } finally {
      await engine.removeImage(ref, { noprune: true }).catch(() => false);
    }
  }
  return out;
}
