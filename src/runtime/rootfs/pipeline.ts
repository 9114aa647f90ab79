import { createReadStream } from 'node:fs';
import type { AccountDef, ImageDef, Libc } from '../../assembly';
import { BuildError } from '../../errors';
import { renderGroup, renderNsswitch, renderPasswd } from '../image/oci';
import type { PackageInfo } from '../state';
import type { BlobStore } from './blobs';
import { closure } from './closure';
import { parseElf } from './elf';
import type { Entry } from './entry';
import { linkCheck, readLoaderConfig } from './linkcheck';
import { purge, type PurgeReport } from './purge';
import { globToRegExp, Layers } from './resolve';
import { normalizeEntries, readRootfsTar } from './tar';

/** Everything the pipeline needs to turn phase 1's tar into this image's layer. */
export interface PipelineInput {
  readonly def: ImageDef;
  readonly libc: Libc;
  /** phase 1's rootfs.tar on disk. */
  readonly rootfsTar: string;
  /** path → owning package, from phase 1. */
  readonly origins: Readonly<Record<string, string>>;
  /** Packages phase 1 installed (without the parent's). */
  readonly packages: readonly PackageInfo[];
  /** Own layers of every ancestor, oldest first. */
  readonly parents: readonly (readonly Entry[])[];
  /** Accounts of every ancestor, oldest first. */
  readonly inheritedAccounts: readonly AccountDef[];
  /** For each `.copy()`, the source image's layers (oldest first). */
  readonly copySources: ReadonlyMap<string, readonly (readonly Entry[])[]>;
  /** Bytes of `.file()` contents by sha256 (from the assembly's `files/`). */
  readFile(sha256: string): Promise<Buffer>;
  readonly blobs: BlobStore;
}

export interface PipelineResult {
  /** This image's own layer, normalized and sorted. */
  readonly entries: Entry[];
  readonly purged: PurgeReport;
  /** Paths of package files left out because only their libraries were needed. */
  readonly slimmed: { readonly packages: readonly string[]; readonly count: number; readonly bytes: number };
}

/**
 * The host side of a build, in order: read and filter the tar, purge, prune to
 * what runs (the user's closure, or the automatic slimming of library and base
 * packages), add copies, files and accounts, normalize, then check that every ELF
 * file finds its libraries in this layer plus the parents'.
 */
export async function runPipeline(input: PipelineInput): Promise<PipelineResult> {
  const { def, blobs } = input;
  const origin = (p: string) => input.origins[p];
  let entries = await readRootfsTar(createReadStream(input.rootfsTar), blobs, { origin });

  const purged = purge(entries, { keep: def.keep, purge: def.purge, locales: def.portage.locales });
  entries = purged.kept;

  const before = entries;
  if (def.closure) {
    entries = closure([...input.parents, entries], { libc: input.libc, roots: def.closure.roots, keep: def.closure.keep, ldSoConf: await readLoaderConfig([...input.parents, entries], blobs) });
  } else {
    entries = await slim(entries, input);
  }
  const kept = new Set(entries.map((e) => e.path));
  const dropped = before.filter((e) => !kept.has(e.path));
  const slimmed = {
    packages: [...new Set(dropped.map((e) => e.origin).filter((o): o is string => !!o))].sort(),
    count: dropped.length,
    bytes: dropped.reduce((n, e) => n + e.size, 0),
  };

  for (const c of def.copies) {
    const layers = input.copySources.get(c.from)!;
    const flat = [...new Layers(layers).entries()];
    entries = [...entries, ...closure([flat], { libc: input.libc, roots: c.paths, keep: [] })];
  }

  entries = [...entries, ...(await addedFiles(input))];
  entries = normalizeEntries(entries);

  const layers = [...input.parents, entries];
  const problems = linkCheck(layers, { libc: input.libc, needs: def.needs, ldSoConf: await readLoaderConfig(layers, blobs) });
  if (problems.length) {
    throw new BuildError(def.id, `link check failed:\n  ${problems.map((p) => p.message).join('\n  ')}`, { phase: 'check' });
  }
  checkForbidden(def, layers);
  return { entries, purged: purged.purged, slimmed };
}

/**
 * Debian pulls in libraries whole, and base packages for maintainer scripts
 * (debconf, perl-base) or for other machines' needs (iproute2). The requested
 * packages and what they depend on stay whole, except that the walk stops at
 * library packages (Section libs) and base packages (Essential, Priority required
 * or important): those, and what only they pull in, keep just the files the kept
 * files load, plus their /etc configuration.
 */
async function slim(entries: Entry[], input: PipelineInput): Promise<Entry[]> {
  const partial = partialPackages(input.def.packages, input.packages);
  if (partial.size === 0) return entries;
  const roots: string[] = [];
  const keep: string[] = [];
  const libConfig = new Set(input.packages.filter((p) => p.section === 'libs' || p.section === 'oldlibs').map((p) => p.name));
  const whole = (e: Entry) => !e.origin || !partial.has(e.origin);
  for (const e of entries) {
    if (e.type === 'dir') continue;
    if (whole(e)) roots.push(e.path);
    // A library's configuration (ld.so.conf.d, netconfig) goes with the library.
    else if (e.path.startsWith('etc/') && libConfig.has(e.origin!)) keep.push(e.path);
  }
  const needs = new Set(input.def.needs);
  for (const e of entries) if (e.type !== 'dir' && needs.has(e.path.slice(e.path.lastIndexOf('/') + 1))) keep.push(e.path);
  const ldSoConf = await readLoaderConfig([...input.parents, entries], input.blobs);
  const kept = roots.length || keep.length ? closure([...input.parents, entries], { libc: input.libc, roots, keep, ldSoConf, literal: true }) : [];
  // The empty directories of whole packages (/var/log/nginx, conf.d) are part of them too.
  const have = new Set(kept.map((e) => e.path));
  return [...kept, ...entries.filter((e) => e.type === 'dir' && whole(e) && !have.has(e.path))];
}

/** Packages kept only for what is loaded from them: see slim(). */
export function partialPackages(requested: readonly string[], packages: readonly PackageInfo[]): Set<string> {
  const wanted = new Set(requested.map((p) => p.replace(/[=/:].*$/, '')));
  const byName = new Map(packages.map((p) => [p.name, p]));
  const whole = new Set<string>();
  // A virtual name (`awk`) stands for the installed package that provides it (mawk).
  for (const p of packages) if (p.provides?.some((v) => wanted.has(v))) wanted.add(p.name);
  const stack = [...wanted].filter((n) => byName.has(n));
  while (stack.length) {
    const name = stack.pop()!;
    if (whole.has(name)) continue;
    const p = byName.get(name)!;
    if (!wanted.has(name) && isLibraryOrBase(p)) continue;
    whole.add(name);
    for (const d of p.depends ?? []) if (byName.has(d) && !whole.has(d)) stack.push(d);
  }
  // Without dependency data (an older builder script), only the class of each package counts.
  const known = packages.some((p) => p.depends !== undefined);
  return new Set(packages.filter((p) => (known ? !whole.has(p.name) : !wanted.has(p.name) && isLibraryOrBase(p))).map((p) => p.name));
}

function isLibraryOrBase(p: PackageInfo): boolean {
  return p.section === 'libs' || p.section === 'oldlibs' || p.essential === true || p.priority === 'required' || p.priority === 'important';
}

async function addedFiles(input: PipelineInput): Promise<Entry[]> {
  const { def } = input;
  const out: Entry[] = [];
  const file = async (path: string, data: Buffer, mode = 0o644, uid = 0, gid = 0): Promise<Entry> => ({
    path, type: 'file', mode, uid, gid, size: data.length, linkname: null, sha256: await input.blobs.put(data), elf: parseElf(data),
  });
  const dir = (path: string, mode: number, uid = 0, gid = 0): Entry => ({ path, type: 'dir', mode, uid, gid, size: 0, linkname: null, sha256: null, elf: null });

  if (def.parent === null) out.push(dir('tmp', 0o1777));
  const accounts = [...input.inheritedAccounts, ...def.accounts];
  if (def.parent === null || def.accounts.length) {
    out.push(await file('etc/passwd', Buffer.from(renderPasswd(accounts))));
    out.push(await file('etc/group', Buffer.from(renderGroup(accounts))));
    if (def.parent === null && input.libc === 'glibc') out.push(await file('etc/nsswitch.conf', Buffer.from(renderNsswitch())));
  }
  for (const a of def.accounts) if (a.home !== '/' && a.home !== '/nonexistent') out.push(dir(a.home.replace(/^\/+/, ''), 0o755, a.uid, a.gid));

  for (const f of def.files) {
    const path = f.path.replace(/^\/+/, '');
    if (f.type === 'dir') out.push(dir(path, f.mode, f.uid, f.gid));
    else if (f.type === 'symlink') out.push({ path, type: 'symlink', mode: 0o777, uid: f.uid, gid: f.gid, size: 0, linkname: f.target, sha256: null, elf: null });
    else {
      const data = await input.readFile(f.sha256!);
      const e = await file(path, data, f.mode, f.uid, f.gid);
      out.push(e);
    }
  }
  return out;
}

function checkForbidden(def: ImageDef, layers: readonly (readonly Entry[])[]): void {
  if (!def.forbid.length) return;
  const res = def.forbid.map(globToRegExp);
  const fs = new Layers(layers);
  const hits = [...fs.entries()].filter((e) => e.type !== 'dir' && res.some((r) => r.test(e.path))).map((e) => e.path).sort();
  if (hits.length) throw new BuildError(def.id, `the image contains what its policies forbid: ${hits.join(', ')}`, { phase: 'check' });
}
