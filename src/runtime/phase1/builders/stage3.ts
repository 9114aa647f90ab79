/**
 * Gentoo stage3 tarballs: find the newest one of a flavour on a mirror, download
 * it with its `.DIGESTS` into a cache directory, check its SHA512 (always) and the
 * signature (when a GPG key is configured), and `docker import` it tagged by date.
 * A check that fails or cannot run is an error, never a silent pass (Kubler #224,
 * #242): nothing is imported or tagged before every check has passed.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type * as Zx from 'zx' with { 'resolution-mode': 'import' };
import { BuildError, CancelledError, FetchError } from '../../../contract/errors';
import { streamAtomic } from '../../../util/files';
import { hashFile } from '../../../util/hash';
import { hostPlatform, normalizePlatform } from '../../../contract/platform';
import { loadForeignRootfs } from './foreign';
import type { Engine } from '../../engine/engine';
import { LABEL_OWNED, LABEL_STAGE3, LABEL_STAGE3_DATE, LABEL_STAGE3_SHA512 } from '../../../contract/labels';

// eslint-disable-next-line @typescript-eslint/no-require-imports
// Loaded when first needed: zx costs ~150 ms at start-up.
const zx = (): typeof Zx => require('zx') as typeof Zx;

/** Where a stage3 comes from. */
export interface Stage3Spec {
  /** Mirror base URL, e.g. `https://distfiles.gentoo.org`. */
  readonly mirror: string;
  /** Flavour, e.g. `amd64-musl-hardened`. */
  readonly flavour: string;
  /** `latest` or a date (`20240101T170000Z`, old style `20180101`). */
  readonly date: string;
  /** Armored key text or a path to a key file; null: SHA512 only. */
  readonly gpgKey: string | null;
}

/** A stage3 on a mirror: where it lives and its date. */
export interface Stage3Release {
  readonly date: string;
  /** The flavour as the mirror names it (may carry `-openrc`). */
  readonly flavour: string;
  readonly url: string;
}

/** A stage3 downloaded and verified. */
export interface VerifiedStage3 extends Stage3Release {
  /** The tarball in the cache directory. */
  readonly path: string;
  readonly sha512: string;
  /** Whether a signature was checked too. */
  readonly signed: boolean;
}

export interface FetchOptions {
  /** Directory for downloads (tarballs and DIGESTS, reused when they verify). */
  readonly cacheDir: string;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** `https://mirror/releases/<arch>/autobuilds`. */
export function autobuildsUrl(mirror: string, flavour: string): string {
  return `${mirror.replace(/\/+$/, '')}/releases/${flavour.split('-')[0]}/autobuilds`;
}

/**
 * The names a flavour may have on a mirror: as given, then with `-openrc` for
 * flavours that name no init system (the autobuilds renamed those in 2021).
 * @example flavourCandidates('amd64-hardened-nomultilib') // ['amd64-hardened-nomultilib', 'amd64-hardened-nomultilib-openrc']
 */
export function flavourCandidates(flavour: string): string[] {
  return /-(openrc|systemd)$|musl/.test(flavour) ? [flavour] : [flavour, `${flavour}-openrc`];
}

/**
 * The body of an OpenPGP clear-signed message (RFC 4880 §7) with dash-escaping
 * undone, or the text itself when it is not signed.
 */
export function stripClearsign(text: string): { readonly body: string; readonly signed: boolean } {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const start = lines.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  if (start < 0) return { body: text, signed: false };
  let i = start + 1;
  while (i < lines.length && lines[i] !== '') i++; // armor headers (Hash: SHA512)
  const end = lines.indexOf('-----BEGIN PGP SIGNATURE-----', i);
  const body = lines.slice(i + 1, end < 0 ? undefined : end).map((l) => (l.startsWith('- ') ? l.slice(2) : l));
  return { body: body.join('\n') + '\n', signed: true };
}

/**
 * Parses `latest-stage3-<flavour>.txt`: comment lines, then `<date>/<file> <size>`.
 * @example parseLatest('# ts=1\n20240101T170000Z/stage3-amd64-openrc-20240101T170000Z.tar.xz 263389500\n').date // '20240101T170000Z'
 */
export function parseLatest(text: string): { readonly date: string; readonly path: string; readonly size: number } {
  const { body } = stripClearsign(text);
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^((\d{8}(?:T\d{6}Z)?)\/\S+\.tar\.(?:xz|bz2|gz|zst))(?:\s+(\d+))?$/.exec(line);
    if (m) return { date: m[2], path: m[1], size: m[3] ? Number(m[3]) : 0 };
  }
  throw new FetchError('FETCH', 'no "<date>/stage3-….tar.xz <size>" line in it');
}

/**
 * The hashes a `.DIGESTS` file gives for `file`. Reads both formats Gentoo has
 * published: the old one (`# MD5 HASH`, `# SHA1 HASH`, `# SHA512 HASH`,
 * `# WHIRLPOOL HASH` sections) and the current clear-signed one (`# BLAKE2B HASH`,
 * `# SHA512 HASH`). Only lines naming exactly `file` count (not `file.CONTENTS.gz`).
 * @example parseDigests(text, 'stage3-amd64-openrc-20240101T170000Z.tar.xz').sha512
 */
export function parseDigests(text: string, file: string): { readonly sha512: string | null; readonly blake2b: string | null } {
  const { body } = stripClearsign(text);
  const out: Record<string, string> = {};
  let algo = '';
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    const h = /^#\s*([A-Z0-9]+)\s+HASH\s*$/i.exec(line);
    if (h) {
      algo = h[1].toUpperCase();
      continue;
    }
    const m = /^([0-9a-fA-F]+)\s+\*?(\S+)$/.exec(line);
    if (!m || !algo || basename(m[2]) !== file || out[algo]) continue;
    out[algo] = m[1].toLowerCase();
  }
  const ok = (v: string | undefined, len: number) => (v && v.length === len ? v : null);
  return { sha512: ok(out.SHA512, 128), blake2b: ok(out.BLAKE2B, 128) };
}

/** GET `url` as text; null on 404. */
export async function fetchText(url: string, signal?: AbortSignal): Promise<string | null> {
  const res = await get(url, signal);
  if (res.status === 404) return null;
  if (!res.ok) throw new FetchError('FETCH', `GET ${url}: HTTP ${res.status}`, { url });
  return res.text();
}

async function get(url: string, signal?: AbortSignal): Promise<Response> {
  try {
    return await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    if (signal?.aborted) throw new CancelledError(`cancelled: GET ${url}`);
    throw new FetchError(
      'FETCH',
      `GET ${url}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`,
      { cause: err, url },
    );
  }
}

/**
 * Downloads `url` to `dest` through a temp file renamed into place when complete;
 * the SHA512 of what was written.
 */
export async function download(url: string, dest: string, signal?: AbortSignal): Promise<string> {
  const res = await get(url, signal);
  if (!res.ok || !res.body) throw new FetchError('FETCH', `GET ${url}: HTTP ${res.status}`, { url });
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  try {
    return (await streamAtomic(dest, body, { algorithm: 'sha512', signal })).hex;
  } catch (err) {
    if (signal?.aborted) throw new CancelledError(`cancelled: GET ${url}`);
    throw err;
  }
}

/** SHA512 of a file. */
export async function sha512File(path: string): Promise<string> {
  return hashFile(path, 'sha512');
}

/**
 * The newest stage3 of a flavour, from the mirror's `latest-stage3-<flavour>.txt`.
 * @example (await latestStage3('https://distfiles.gentoo.org', 'amd64-musl-hardened')).date
 */
export async function latestStage3(mirror: string, flavour: string, signal?: AbortSignal): Promise<Stage3Release> {
  const base = autobuildsUrl(mirror, flavour);
  const tried: string[] = [];
  for (const name of flavourCandidates(flavour)) {
    const url = `${base}/latest-stage3-${name}.txt`;
    tried.push(url);
    const text = await fetchText(url, signal);
    if (text === null) continue;
    let latest;
    try {
      latest = parseLatest(text);
    } catch (err) {
      throw new FetchError('FETCH', `stage3 ${flavour}: ${url}: ${(err as Error).message}`, { cause: err, url });
    }
    return { date: latest.date, flavour: name, url: `${base}/${latest.path}` };
  }
  throw new FetchError('FETCH', `no stage3 "${flavour}" on ${mirror} (not found: ${tried.join(', ')})`);
}

/** Where a stage3 of a given date lives (the name of the first candidate that has a DIGESTS file). */
async function datedStage3(
  mirror: string,
  flavour: string,
  date: string,
  signal?: AbortSignal,
): Promise<{ release: Stage3Release; digests: string }> {
  const base = autobuildsUrl(mirror, flavour);
  const tried: string[] = [];
  for (const name of flavourCandidates(flavour)) {
    for (const ext of date.includes('T') ? ['xz'] : ['xz', 'bz2']) {
      const url = `${base}/${date}/stage3-${name}-${date}.tar.${ext}`;
      tried.push(`${url}.DIGESTS`);
      const digests = await fetchText(`${url}.DIGESTS`, signal);
      if (digests !== null) return { release: { date, flavour: name, url }, digests };
    }
  }
  throw new FetchError('FETCH', `no stage3 "${flavour}" of ${date} on ${mirror} (not found: ${tried.join(', ')})`);
}

/**
 * Downloads (or reuses from the cache) the stage3 named by `spec` and verifies it:
 * SHA512 against its `.DIGESTS` always, the signature too when `spec.gpgKey` is set
 * (the clear-signed DIGESTS, or the tarball's detached `.asc` for unsigned ones).
 * Throws on any mismatch or missing piece.
 */
export async function fetchStage3(spec: Stage3Spec, opts: FetchOptions): Promise<VerifiedStage3> {
  const log = opts.log ?? (() => undefined);
  let release: Stage3Release;
  let digestsText: string;
  if (spec.date === 'latest') {
    release = await latestStage3(spec.mirror, spec.flavour, opts.signal);
    log(`stage3 ${spec.flavour}: latest is ${release.date}`);
    const t = await fetchText(`${release.url}.DIGESTS`, opts.signal);
    if (t === null)
      throw new FetchError(
        'INTEGRITY',
        `stage3 ${spec.flavour}: ${release.url}.DIGESTS: not found; refusing a stage3 that cannot be checked`,
        { url: `${release.url}.DIGESTS` },
      );
    digestsText = t;
  } else {
    ({ release, digests: digestsText } = await datedStage3(spec.mirror, spec.flavour, spec.date, opts.signal));
  }
  const file = basename(new URL(release.url).pathname);
  const dir = join(opts.cacheDir, 'stage3', release.date);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${file}.DIGESTS`), digestsText);

  let signed = false;
  let trusted = digestsText;
  if (spec.gpgKey !== null) {
    if (stripClearsign(digestsText).signed) {
      trusted = await gpgVerifyClearsigned(spec.gpgKey, join(dir, `${file}.DIGESTS`));
      signed = true;
    }
  } else {
    log(`stage3 ${spec.flavour}: no gpgKey configured, checking SHA512 only`);
  }
  const want = parseDigests(trusted, file).sha512;
  if (!want)
    throw new FetchError(
      'INTEGRITY',
      `stage3 ${spec.flavour}: ${release.url}.DIGESTS has no SHA512 hash for ${file}; refusing a stage3 that cannot be checked`,
      { url: `${release.url}.DIGESTS` },
    );

  const path = join(dir, file);
  let got = (await stat(path).catch(() => null)) ? await sha512File(path) : null;
  if (got !== want) {
    if (got !== null) log(`stage3 ${spec.flavour}: cached ${file} does not match its DIGESTS, downloading again`);
    log(`stage3 ${spec.flavour}: downloading ${release.url}`);
    got = await download(release.url, path, opts.signal);
  } else log(`stage3 ${spec.flavour}: ${file} is cached`);
  if (got !== want) {
    await rm(path, { force: true });
    throw new FetchError(
      'INTEGRITY',
      `stage3 ${spec.flavour}: ${file}: SHA512 ${got} does not match its DIGESTS (${want}); the download was removed`,
      { url: release.url },
    );
  }
  if (spec.gpgKey !== null && !signed) {
    const asc = await fetchText(`${release.url}.asc`, opts.signal);
    if (asc === null)
      throw new FetchError(
        'INTEGRITY',
        `stage3 ${spec.flavour}: a gpgKey is configured but ${release.url}.DIGESTS is not signed and there is no ${file}.asc`,
        { url: release.url },
      );
    await writeFile(`${path}.asc`, asc);
    await gpgVerifyDetached(spec.gpgKey, `${path}.asc`, path);
    signed = true;
  }
  log(`stage3 ${spec.flavour}: ${file} verified (sha512${signed ? ' + gpg' : ''})`);
  return { ...release, path, sha512: want, signed };
}

/** Runs gpg in a throwaway home with only `key` imported. */
async function withKeyring<T>(key: string, fn: (home: string) => Promise<T>): Promise<T> {
  if (!(await zx().which('gpg', { nothrow: true }))) {
    throw new FetchError(
      'INTEGRITY',
      'a gpgKey is configured but gpg is not installed on this host (`apt-get install gpg`); refusing to skip the signature check',
    );
  }
  const home = await mkdtemp(join(tmpdir(), 'imgsdk-gpg-'));
  try {
    const armored = key.includes('-----BEGIN PGP')
      ? key
      : await readFile(key, 'utf8').catch((e: Error) => {
          throw new FetchError('INTEGRITY', `gpgKey: cannot read ${key}: ${e.message}`, { cause: e });
        });
    await writeFile(join(home, 'key.asc'), armored);
    const imp = await zx().$({ quiet: true, nothrow: true })`gpg --batch --homedir ${home} --import ${join(home, 'key.asc')}`;
    if (imp.exitCode !== 0) throw new FetchError('INTEGRITY', `gpgKey could not be imported: ${imp.stderr.trim()}`);
    return await fn(home);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Verifies a clear-signed file; its signed text (only what the signature covers). */
export async function gpgVerifyClearsigned(key: string, file: string): Promise<string> {
  return withKeyring(key, async (home) => {
    const out = join(home, 'verified.txt');
    const r = await zx().$({ quiet: true, nothrow: true })`gpg --batch --homedir ${home} --status-fd 1 --output ${out} --decrypt ${file}`;
    if (r.exitCode !== 0 || !/^\[GNUPG:\] VALIDSIG /m.test(r.stdout)) {
      throw new FetchError(
        'INTEGRITY',
        `GPG signature of ${basename(file)} does not verify with the configured key: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`,
      );
    }
    return readFile(out, 'utf8');
  });
}

/** Verifies a detached signature of `file`. */
export async function gpgVerifyDetached(key: string, sig: string, file: string): Promise<void> {
  await withKeyring(key, async (home) => {
    const r = await zx().$({ quiet: true, nothrow: true })`gpg --batch --homedir ${home} --status-fd 1 --verify ${sig} ${file}`;
    if (r.exitCode !== 0 || !/^\[GNUPG:\] VALIDSIG /m.test(r.stdout)) {
      throw new FetchError(
        'INTEGRITY',
        `GPG signature ${basename(sig)} does not verify ${basename(file)} with the configured key: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`,
      );
    }
  });
}

/** `imgsdk-stage3/<flavour>:<date>`. */
export function stage3Ref(flavour: string, date: string): string {
  return `imgsdk-stage3/${flavour.toLowerCase()}:${date}`;
}

/**
 * The stage3 of `spec` as an engine image tagged by date, downloading, verifying
 * and importing it when the engine has no image of that tag made from a tarball
 * with the same SHA512. Returns the reference.
 */
export async function ensureStage3Image(engine: Engine, spec: Stage3Spec, opts: FetchOptions & { readonly id?: string }): Promise<string> {
  const who = opts.id ?? spec.flavour;
  let v: VerifiedStage3;
  try {
    v = await fetchStage3(spec, opts);
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    const message = (err as Error).message;
    throw new BuildError(who, message.startsWith('stage3 ') ? message : `stage3 ${spec.flavour}: ${message}`, {
      cause: err,
      phase: 'builder',
    });
  }
  const ref = stage3Ref(spec.flavour, v.date);
  const existing = await engine.inspectImage(ref);
  if (existing?.labels[LABEL_STAGE3_SHA512] === v.sha512) return ref;
  opts.log?.(`stage3 ${spec.flavour}: importing ${basename(v.path)} as ${ref}`);
  const changes = [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'CMD ["/bin/bash"]',
    `LABEL ${LABEL_OWNED}="1" ${LABEL_STAGE3}="${spec.flavour}" ${LABEL_STAGE3_DATE}="${v.date}" ${LABEL_STAGE3_SHA512}="${v.sha512}"`,
  ];
  // A stage3 of another architecture (arm64-openrc on an amd64 host) becomes an image of that platform.
  const platform = normalizePlatform(spec.flavour.split('-')[0]);
  if (platform && platform !== hostPlatform()) await loadForeignRootfs(engine, decompressed(v.path), ref, changes, platform);
  else await engine.importImage(createReadStream(v.path), ref, { changes });
  return ref;
}

/** The tar inside a stage3 tarball (`.tar.xz`, `.tar.bz2`, `.tar.gz`), decompressed by the host's tool. */
function decompressed(path: string): Readable {
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.bz2') ? 'bzip2' : path.endsWith('.gz') ? 'gzip' : null;
  if (!tool) return createReadStream(path);
  const child = spawn(tool, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  child.on('error', (e) => out.destroy(e));
  child.on('close', (code) =>
    code === 0
      ? out.end()
      : out.destroy(new FetchError('INTEGRITY', `${tool} -dc ${path} exited ${code} (a damaged stage3 tarball?): ${err.trim()}`)),
  );
  return out;
}
