/**
 * Phase 2, second half: the OCI image config and manifest of an image, and the
 * account files (/etc/passwd, /etc/group, /etc/nsswitch.conf) its layer carries.
 * Everything is canonical JSON or fixed-order text: same input, same bytes.
 */
import type { AccountDef, HealthcheckDef, ImageDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import { canonicalJson } from '../../contract/json';
import { sha256Digest } from '../../util/hash';
import { LABEL_ID, LABEL_KEY } from '../../contract/labels';

/** OCI media type of an image config. */
export const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
/** OCI media type of an image manifest. */
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** The PATH an image gets unless its env sets one (Docker's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A JSON document together with the digest of exactly those bytes. */
export interface Blob {
  readonly json: string;
  /** `sha256:<hex>` of `json` as UTF-8. */
  readonly digest: string;
}

/** A history entry of one layer; `created` is always the image's. */
export interface HistoryDef {
  /** @default 'imgsdk' */
  readonly createdBy?: string;
  readonly comment?: string;
}

/** Options of {@link imageConfig}. */
export interface ImageConfigOptions {
  /** Cache key of the image, recorded as the `org.imgsdk.key` label. */
  readonly key: string;
  /** `sha256:…` of every uncompressed layer, the oldest ancestor's first, this image's last. */
  readonly diffIds: readonly string[];
  /** Creation time in epoch seconds (SOURCE_DATE_EPOCH). */
  readonly created: number;
  /** @default 'amd64' */
  readonly arch?: string;
  /** @default 'linux' */
  readonly os?: string;
  /** Accounts of this image and all ancestors, the oldest first; a later one wins. */
  readonly accounts: readonly AccountDef[];
  /** One entry per diffId. @default `created_by: 'imgsdk'` for each layer */
  readonly history?: readonly HistoryDef[];
  /** Labels added to the definition's; `org.imgsdk.*` always wins. */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

/**
 * The OCI image config of `def` (what Docker shows as the image Id is its digest).
 *
 * @example
 * const cfg = imageConfig(def, { key, diffIds: [layer.diffId], created: 0, accounts: def.accounts });
 * cfg.digest; // sha256:…
 */
export function imageConfig(def: ImageDef, opts: ImageConfigOptions): Blob {
  const c = def.config;
  if (!Number.isInteger(opts.created) || opts.created < 0) {
    throw new BuildError(def.id, `created must be a whole number of seconds >= 0, got ${opts.created}`);
  }
  if (opts.history && opts.history.length !== opts.diffIds.length) {
    throw new BuildError(def.id, `${opts.history.length} history entries for ${opts.diffIds.length} layers`);
  }
  const created = new Date(opts.created * 1000).toISOString().replace(/\.000Z$/, 'Z');

  const env: Record<string, string> = { ...c.env };
  env.PATH ??= DEFAULT_PATH;
  const labels: Record<string, string> = {
    ...c.labels,
    ...opts.extraLabels,
    [LABEL_ID]: def.id,
    [LABEL_KEY]: opts.key,
  };

  // Docker omits unset fields (omitempty); doing the same keeps `inspect` familiar.
  const config: Record<string, unknown> = {
    Env: Object.keys(env)
      .sort()
      .map((k) => `${k}=${env[k]}`),
    Labels: labels,
  };
  if (c.user !== null) config.User = resolveUser(def.id, c.user, opts.accounts);
  if (c.entrypoint) config.Entrypoint = [...c.entrypoint];
  if (c.cmd) config.Cmd = [...c.cmd];
  if (c.workdir) config.WorkingDir = c.workdir;
  if (c.expose.length) config.ExposedPorts = setOf(c.expose.map((p) => (p.includes('/') ? p : `${p}/tcp`)));
  if (c.volumes.length) config.Volumes = setOf(c.volumes);
  if (c.healthcheck) config.Healthcheck = healthcheck(c.healthcheck);

  const doc = {
    architecture: opts.arch ?? 'amd64',
    os: opts.os ?? 'linux',
    created,
    config,
    rootfs: { type: 'layers', diff_ids: [...opts.diffIds] },
    history: opts.diffIds.map((_, i) => {
      const h = opts.history?.[i];
      return { created, created_by: h?.createdBy ?? 'imgsdk', comment: h?.comment };
    }),
  };
  const json = canonicalJson(doc);
  return { json, digest: sha256Digest(json) };
}

/** A layer as the manifest lists it. */
export interface ManifestLayer {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

/**
 * The OCI image manifest of a config and its layers (the oldest first).
 *
 * @example
 * const m = imageManifest(cfg.digest, Buffer.byteLength(cfg.json), [
 *   { digest: layer.digest, size: layer.size, mediaType: LAYER_GZIP_MEDIA_TYPE },
 * ]);
 */
export function imageManifest(
  configDigest: string,
  configSize: number,
  layers: readonly ManifestLayer[],
): Blob & { readonly size: number } {
  const json = canonicalJson({
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: { mediaType: CONFIG_MEDIA_TYPE, digest: configDigest, size: configSize },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  });
  return { json, digest: sha256Digest(json), size: Buffer.byteLength(json) };
}

/**
 * Resolves a USER value to numbers. A name is looked up in `accounts` (the last one
 * of that name wins) and becomes its uid alone: the runtime then takes the primary
 * group from the image's /etc/passwd and the supplementary groups from its /etc/group
 * (PostgreSQL reads the snakeoil key as a member of `ssl-cert`), which Docker does not
 * do for `uid:gid`. `root` and `nobody` are known without an account (`0:0`,
 * `65534:65534`); a numeric `uid` or `uid:gid` is kept as written; `name:group`
 * resolves both sides.
 *
 * @example
 * resolveUser('x/y', 'nobody', []); // '65534:65534'
 * resolveUser('x/y', 'postgres', [{ user: 'postgres', uid: 10001, group: 'postgres', gid: 10001, home: '/nonexistent', shell: '/sbin/nologin' }]); // '10001'
 */
export function resolveUser(imageId: string, user: string, accounts: readonly AccountDef[]): string {
  const [u, g, ...rest] = user.split(':');
  if (!u || rest.length || g === '') throw new BuildError(imageId, `user "${user}" is not a name, uid or uid:gid`);
  const account = findLast(accounts, (a) => a.user === u);
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
  } else if (account) {
    uid = account.uid;
  } else if (WELL_KNOWN[u]) {
    [uid, gid] = WELL_KNOWN[u];
  } else {
    throw new BuildError(imageId, `user "${u}" is neither root, nobody, a uid nor a declared account`);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const group = findLast(accounts, (a) => a.group === g);
      if (group) gid = group.gid;
      else if (WELL_KNOWN[g]) gid = WELL_KNOWN[g][1];
      else throw new BuildError(imageId, `group "${g}" is neither root, nobody, a gid nor a declared account's group`);
    }
  }
  return gid === undefined ? String(uid) : `${uid}:${gid}`;
}

const WELL_KNOWN: Readonly<Record<string, readonly [number, number]>> = { root: [0, 0], nobody: [65534, 65534] };

// The account files are the rootfs pipeline's (rootfs/etc-files.ts); named here too, where they always were.
export { renderGroup, renderNsswitch, renderPasswd } from '../rootfs/etc-files';

function healthcheck(h: HealthcheckDef): Record<string, unknown> {
  const test = ['CMD', 'CMD-SHELL', 'NONE'].includes(h.cmd[0] ?? '') ? [...h.cmd] : ['CMD', ...h.cmd];
  const ns = (s: number): number | undefined => (s > 0 ? Math.round(s * 1e9) : undefined);
  return {
    Test: test,
    Interval: ns(h.interval),
    Timeout: ns(h.timeout),
    StartPeriod: ns(h.startPeriod),
    Retries: h.retries > 0 ? h.retries : undefined,
  };
}

function setOf(keys: readonly string[]): Record<string, Record<string, never>> {
  return Object.fromEntries(keys.map((k) => [k, {}]));
}

function findLast<T>(xs: readonly T[], f: (x: T) => boolean): T | undefined {
  for (let i = xs.length - 1; i >= 0; i--) if (f(xs[i])) return xs[i];
  return undefined;
}
