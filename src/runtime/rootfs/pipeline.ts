import { createReadStream, readFileSync } from 'node:fs';
import type { AccountDef, FileDef, ImageDef, Libc } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import { renderGroup, renderNsswitch, renderPasswd } from './etc-files';
import type { CreatedAccount, PackageInfo } from '../store/state';
import { adoptAccounts, type GroupDef, type NamedOwners, resolveNamedOwners, unownedFiles } from './accounts';
import { type DroppedModule, dropUnloadableModules } from './modules';
import { type StrippedFile, stripPrivileges } from './privileges';
import { partialPackages, slim } from './slim';
import { referenceKind, referenceReader } from './references';
import { GROUP_MASTER, namedStandardAccounts, PASSWD_MASTER, parseStandardAccounts } from './standard-accounts';
import { runDirs, UNIT } from './run-dirs';
import type { BlobStore } from '../store/blobs';
import { closure } from './closure';
import { parseElf } from './elf';
import type { Entry } from '../store/entry';
import { linkCheck, readLoaderConfig } from './linkcheck';
import { checkMachine } from './machine';
import { checkRules, type RulesInput } from './policies';
import { purge, type PurgeReport } from './purge';
import { dirname, globToRegExp, Layers } from './resolve';
import { normalizeEntries, parseShebang, readHead, readRootfsTar } from './tar';
import { checkEntrypoint } from './entrypoint';

/** Everything the pipeline needs to turn phase 1's tar into this image's layer. */
export interface PipelineInput {
  readonly def: ImageDef;
  readonly libc: Libc;
  /** The platform the image is built for: its programs must be ELF files of its machine. @default no check */
  readonly platform?: string;
  /** phase 1's rootfs.tar on disk. */
  readonly rootfsTar: string;
  /** That tar as read before (`readRootfsTar` with `origins`, setuid allowed): used instead of reading it. @default read */
  readonly rootfsEntries?: readonly Entry[];
  /** path → owning package, from phase 1. */
  readonly origins: Readonly<Record<string, string>>;
  /** Packages phase 1 installed (without the parent's). */
  readonly packages: readonly PackageInfo[];
  /** Own layers of every ancestor, oldest first. */
  readonly parents: readonly (readonly Entry[])[];
  /** Accounts of every ancestor, oldest first. */
  readonly inheritedAccounts: readonly AccountDef[];
  /** Accounts the install created in this image's phase 1 (maintainer scripts). */
  readonly createdAccounts?: readonly CreatedAccount[];
  /** Accounts ancestors added because their installs created them, oldest first. */
  readonly inheritedCreated?: readonly AccountDef[];
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
  /** Paths of package files left out because only part of their package is used. */
  readonly slimmed: {
    readonly packages: readonly string[];
    readonly count: number;
    readonly bytes: number;
    readonly unused: readonly string[];
    readonly named?: ReadonlyMap<string, string>;
  };
  /** Files whose setuid/setgid bits, capabilities or world-writable bit were removed. */
  readonly stripped: readonly StrippedFile[];
  /** Loadable modules that could never load, left out. */
  readonly droppedModules: readonly DroppedModule[];
  /** Accounts the install created that this image adds to /etc/passwd and /etc/group. */
  readonly createdAccounts: readonly CreatedAccount[];
  /** What the build log and PACKAGES.md should say: account mappings, files of unknown owners. */
  readonly notes: readonly string[];
  /**
   * What deploy says on the console: privileges removed from files of the packages the
   * image names (sudo's setuid bit), which the program likely needs.
   */
  readonly warnings: readonly string[];
}

/** `.keep()` names that are not purge categories but switches of the pipeline. */
const PIPELINE_KEEPS = new Set(['setuid', 'world-writable']);
/** Purge categories a C compiler needs at run time: headers, and the start files and static parts a link takes (crt1.o, libc_nonshared.a). */
const COMPILER_KEEPS = ['headers', 'static-libs'];

/** The package of the image that is a C compiler (gcc-12, which provides `c-compiler`), if any. */
export function compilerOf(packages: readonly PackageInfo[]): string | undefined {
  return packages.find((p) => /^(?:gcc|clang|tcc)(?:-\d+)?$/.test(p.name) || p.provides?.includes('c-compiler'))?.name;
}

/**
 * The host side of a build, in order: read and filter the tar, purge, strip
 * privileges, prune to what runs (the user's closure, or the automatic slimming of
 * library and base packages), adopt the accounts the install created, add copies,
 * files and accounts, normalize, drop modules that can never load, then check that
 * every ELF file finds its libraries in this layer plus the parents'.
 */
export async function runPipeline(input: PipelineInput): Promise<PipelineResult> {
  const { def, blobs } = input;
  const origin = (p: string) => input.origins[p];
  let entries = input.rootfsEntries
    ? [...input.rootfsEntries]
    : await readRootfsTar(createReadStream(input.rootfsTar), blobs, { origin, allowSetuid: true });
  // Service units are purged, but say which directories their daemons expect (sshd's /run/sshd).
  const units = entries.filter((e) => e.type === 'file' && UNIT.test(e.path));

  // A program that compiles at run time (varnish compiles its VCL with the C compiler it
  // depends on) needs the headers and the start files its dependency closure ships.
  const compiler = def.closure ? undefined : compilerOf(input.packages);
  const keepForCompiler = compiler ? COMPILER_KEEPS.filter((k) => !def.keep.includes(k)) : [];
  const purged = purge(entries, {
    image: def.id,
    keep: [...def.keep.filter((k) => !PIPELINE_KEEPS.has(k)), ...keepForCompiler],
    purge: def.purge,
    locales: def.portage.locales,
  });
  const privileges = stripPrivileges(purged.kept, {
    keepSetuid: def.keep.includes('setuid'),
    keepWorldWritable: def.keep.includes('world-writable'),
  });
  entries = privileges.entries;

  const before = entries;
  const read = (e: Entry): Buffer | null => {
    try {
      return e.sha256 ? readFileSync(blobs.path(e.sha256)) : null;
    } catch {
      return null;
    }
  };
  const references = referenceReader(read);
  const slimmedStep = await slimEntries(input, before, references);
  entries = slimmedStep.entries;
  const slimmed = slimmedStep.slimmed;

  const declared = [...input.inheritedAccounts, ...(input.inheritedCreated ?? []), ...def.accounts];
  const adopted = adoptAccounts(entries, input.createdAccounts ?? [], declared);
  entries = adopted.entries;

  for (const c of def.copies) {
    const layers = input.copySources.get(c.from)!;
    const flat = [...new Layers(layers).entries()];
    entries = [...entries, ...closure([flat], { libc: input.libc, roots: c.paths, keep: [] })];
  }

  const standard = standardAccountsNamed(before, entries, references, read, declared, adopted.users, adopted.groups);
  const accounts = { users: [...adopted.users, ...standard.users], groups: [...adopted.groups, ...standard.groups] };
  entries = [...entries, ...(await accountFiles(input, accounts)), ...(def.parent === null ? runtimeDirs(entries) : [])];
  entries = [...entries, ...packageRunDirs(input, entries, units, declared, accounts, read)];
  // Names synth left to the build (accounts an install created) get their ids here.
  const owners = resolveNamedOwners(def, [...declared, ...adopted.users], adopted.groups);
  // The user's own files pass the same privilege rule as the packages' (and are reported the same way).
  const own = stripPrivileges(await ownFiles(input, owners), {
    keepSetuid: def.keep.includes('setuid'),
    keepWorldWritable: def.keep.includes('world-writable'),
  });
  entries = normalizeEntries([...entries, ...own.entries]);

  const ldSoConf = await readLoaderConfig([...input.parents, entries], blobs);
  const modules = dropUnloadableModules([...input.parents, entries], { libc: input.libc, needs: def.needs, ldSoConf });
  entries = modules.entries;

  await checkBuilt(input, entries, [...(input.createdAccounts ?? []), ...declared, ...accounts.users], ldSoConf);

  const all = [...declared, ...accounts.users];
  const uids = new Set([0, 65534, ...all.map((a) => a.uid)]);
  const gids = new Set([0, 65534, ...all.map((a) => a.gid), ...accounts.groups.map((g) => g.gid)]);
  const compilerNote = keepForCompiler.length
    ? [`${keepForCompiler.join(' and ')} kept: the image has a C compiler (${compiler}), which compiles against them at run time`]
    : [];
  const notes = [...compilerNote, ...adopted.notes, ...standard.notes, ...unownedFiles(entries, uids, gids)];
  const createdAccounts: CreatedAccount[] = [
    ...accounts.users.map((u) => ({ user: u.user, uid: u.uid, group: u.group, gid: u.gid, home: u.home, shell: u.shell })),
    ...accounts.groups.map((g) => ({ group: g.name, gid: g.gid, ...(g.members?.length ? { members: g.members } : {}) })),
  ];
  // Reported are the files the image has: what slimming dropped had nothing to strip.
  const final = new Set(entries.map((e) => e.path));
  const ownPaths = new Set(own.stripped.map((f) => f.path));
  const stripped = [...privileges.stripped.filter((f) => !ownPaths.has(f.path)), ...own.stripped].filter((f) => final.has(f.path));
  return {
    entries,
    purged: purged.purged,
    slimmed,
    stripped,
    droppedModules: modules.dropped,
    createdAccounts,
    notes,
    warnings: privilegeWarnings(def, input.packages, stripped, origin),
  };
}

/** Slimming, or an image's explicit closure: what of the packages' files the image keeps, and what it dropped. */
async function slimEntries(
  input: PipelineInput,
  before: Entry[],
  references: ReturnType<typeof referenceReader>,
): Promise<{ entries: Entry[]; slimmed: PipelineResult['slimmed'] }> {
  const { def, blobs } = input;
  let entries = before;
  let unused: readonly string[] = [];
  let named: ReadonlyMap<string, string> | undefined;
  if (def.closure) {
    entries = closure([...input.parents, entries], {
      libc: input.libc,
      roots: def.closure.roots,
      keep: def.closure.keep,
      ldSoConf: await readLoaderConfig([...input.parents, entries], blobs),
    });
  } else {
    const ldSoConf = await readLoaderConfig([...input.parents, entries], blobs);
    const r = slim({
      entries,
      parents: input.parents,
      packages: input.packages,
      requested: def.packages,
      needs: def.needs,
      libc: input.libc,
      ldSoConf,
      forbid: def.forbid,
      references,
      locales: def.portage.locales,
    });
    entries = r.entries;
    unused = r.unused;
    named = r.named;
  }
  const kept = new Set(entries.map((e) => e.path));
  const parentFs = new Layers(input.parents);
  const dropped = before.filter((e) => !kept.has(e.path) && !parentFs.get(e.path));
  const slimmed = {
    packages: [...new Set(dropped.map((e) => e.origin).filter((o): o is string => !!o))].sort(),
    count: dropped.length,
    bytes: dropped.reduce((n, e) => n + e.size, 0),
    unused,
    ...(named ? { named } : {}),
  };
  return { entries, slimmed };
}

/** Directories a package expects under /run (tmpfiles.d, its units' RuntimeDirectory=), owned by the accounts they name. */
function packageRunDirs(
  input: PipelineInput,
  entries: Entry[],
  units: readonly Entry[],
  declared: readonly AccountDef[],
  accounts: { users: AccountDef[]; groups: GroupDef[] },
  read: (e: Entry) => Buffer | null,
): Entry[] {
  // /run directories of tmpfiles.d (tinyproxy), owned by the accounts they name.
  const everyone = [...declared, ...accounts.users];
  const groupIds = new Map<string, number>([
    ...everyone.map((a) => [a.group || a.user, a.gid] as [string, number]),
    ...accounts.groups.map((g) => [g.name, g.gid] as [string, number]),
  ]);
  // Of the units, those of packages the image keeps something of.
  const keptOrigins = new Set(entries.map((e) => e.origin).filter(Boolean));
  const keptUnits = units.filter((e) => keptOrigins.has(e.origin));
  return runDirs(
    [...input.parents.flat(), ...entries],
    read,
    (u) => (u === 'root' ? 0 : everyone.find((a) => a.user === u)?.uid),
    (g) => (g === 'root' ? 0 : groupIds.get(g)),
    keptUnits,
  );
}

/**
 * The checks of what the pipeline made, over its layer and the parents': layer
 * shape, machine, the policies' rules, the link check, forbidden paths and the
 * entrypoint. Each throws naming the image.
 */
async function checkBuilt(
  input: PipelineInput,
  entries: readonly Entry[],
  accounts: RulesInput['accounts'],
  ldSoConf: Awaited<ReturnType<typeof readLoaderConfig>>,
): Promise<void> {
  const { def, blobs } = input;
  const layers = [...input.parents, entries];
  checkLayerShape(def, input.parents, entries);
  if (input.platform) checkMachine(def.id, entries, input.platform);
  // Before the link check: a shell that misses a library is named as a shell.
  await checkRules({ def, parents: input.parents, entries, accounts, packages: input.packages, blobs });
  const problems = linkCheck(layers, { libc: input.libc, needs: def.needs, ldSoConf, executablesOnly: true });
  if (problems.length) {
    throw new BuildError(def.id, `link check failed:\n  ${problems.map((p) => p.message).join('\n  ')}`, { phase: 'check' });
  }
  checkForbidden(def, layers);
  await checkEntrypoint(def, layers, async (e) => (e.sha256 ? readHead(blobs.path(e.sha256)) : Buffer.alloc(0)));
}

/**
 * Privileges removed from a file of a package the image names (not a dependency's):
 * `sudo` refuses to run without its setuid bit, so the console says so, not only
 * PACKAGES.md.
 */
function privilegeWarnings(
  def: ImageDef,
  packages: PipelineInput['packages'],
  stripped: readonly StrippedFile[],
  origin: (p: string) => string | undefined,
): string[] {
  const partial = partialPackages(def.packages, packages);
  const named = new Set(
    packages
      .map((p) => p.name)
      .filter(
        (n) =>
          !partial.has(n) &&
          (def.packages.some((r) => r.replace(/[=/:].*$/, '') === n) ||
            packages.find((p) => p.name === n)?.provides?.some((v) => def.packages.includes(v))),
      ),
  );
  return stripped
    .filter((f) => f.what.some((w) => w !== 'world-writable') && named.has(origin(f.path) ?? ''))
    .map(
      (f) =>
        `${f.what.filter((w) => w !== 'world-writable').join(', ')} removed from /${f.path} (package ${origin(f.path)}, which the image names): it may refuse to run without; .keep('setuid') keeps it`,
    );
}

/** The standard accounts (base-passwd) that kept configuration files name and the image lacks. */
function standardAccountsNamed(
  before: readonly Entry[],
  kept: readonly Entry[],
  references: ReturnType<typeof referenceReader>,
  read: (e: Entry) => Buffer | null,
  declared: readonly AccountDef[],
  users: readonly AccountDef[],
  groups: readonly GroupDef[],
) {
  const master = (p: string) => {
    const e = before.find((x) => x.path === p);
    return e ? read(e)?.toString('utf8') : undefined;
  };
  const passwd = master(PASSWD_MASTER);
  const group = master(GROUP_MASTER);
  if (passwd === undefined || group === undefined) return { users: [], groups: [], notes: [] };
  const words = new Set<string>();
  for (const e of kept) if (referenceKind(e) === 'config') for (const w of references(e).accounts) words.add(w);
  const all = [...declared, ...users];
  return namedStandardAccounts(words, parseStandardAccounts(passwd, group), {
    users: new Set(all.map((a) => a.user)),
    uids: new Set(all.map((a) => a.uid)),
    groups: new Set([...all.map((a) => a.group || a.user), ...groups.map((g) => g.name)]),
    gids: new Set([...all.map((a) => a.gid), ...groups.map((g) => g.gid)]),
  });
}

/**
 * What a booted system has for running programs and a container does not make:
 * /run, /run/lock (sticky, as /tmp), and base-files' /var/run and /var/lock links to
 * them (apache2ctl's `mktemp -d /var/lock/apache2.XXXX`, nginx's /run/nginx.pid).
 * Only what the layer lacks.
 */
function runtimeDirs(entries: readonly Entry[]): Entry[] {
  const have = new Set(entries.map((e) => e.path));
  const out: Entry[] = [];
  const base = { uid: 0, gid: 0, size: 0, sha256: null, elf: null } as const;
  if (!have.has('run')) out.push({ ...base, path: 'run', type: 'dir', mode: 0o755, linkname: null });
  if (!have.has('run/lock')) out.push({ ...base, path: 'run/lock', type: 'dir', mode: 0o1777, linkname: null });
  if (have.has('var')) {
    if (!have.has('var/run')) out.push({ ...base, path: 'var/run', type: 'symlink', mode: 0o777, linkname: '/run' });
    if (!have.has('var/lock')) out.push({ ...base, path: 'var/lock', type: 'symlink', mode: 0o777, linkname: '/run/lock' });
  }
  return out;
}

/** /tmp, the account files and home directories an image gets. */
async function accountFiles(
  input: PipelineInput,
  created: { users: readonly AccountDef[]; groups: readonly GroupDef[] },
): Promise<Entry[]> {
  const { def } = input;
  const out: Entry[] = [];
  const file = async (path: string, data: Buffer, mode = 0o644, uid = 0, gid = 0): Promise<Entry> => ({
    path,
    type: 'file',
    mode,
    uid,
    gid,
    size: data.length,
    linkname: null,
    sha256: await input.blobs.put(data),
    elf: parseElf(data),
  });
  const dir = (path: string, mode: number, uid = 0, gid = 0): Entry => ({
    path,
    type: 'dir',
    mode,
    uid,
    gid,
    size: 0,
    linkname: null,
    sha256: null,
    elf: null,
  });

  if (def.parent === null) out.push(dir('tmp', 0o1777));
  const accounts = [...input.inheritedAccounts, ...(input.inheritedCreated ?? []), ...created.users, ...def.accounts];
  if (def.parent === null || def.accounts.length || created.users.length || created.groups.length) {
    out.push(await file('etc/passwd', Buffer.from(renderPasswd(accounts))));
    out.push(await file('etc/group', Buffer.from(renderGroup(accounts, created.groups))));
    if (def.parent === null && input.libc === 'glibc') out.push(await file('etc/nsswitch.conf', Buffer.from(renderNsswitch())));
  }
  for (const a of def.accounts)
    if (a.home !== '/' && a.home !== '/nonexistent') out.push(dir(a.home.replace(/^\/+/, ''), 0o755, a.uid, a.gid));
  return out;
}

/**
 * The entries of the image's `.dir()` sources, in their order, then its `.file()`s
 * (a later one wins at the same path), with the owners named at the build resolved.
 * Each body is checked against the sha256 the definition names: the assembly may have
 * been copied from elsewhere.
 */
async function ownFiles(input: PipelineInput, named: NamedOwners): Promise<Entry[]> {
  const { def } = input;
  const all = [...named.dirs.flatMap((d) => d.entries), ...named.files];
  const out: Entry[] = new Array(all.length);
  const one = async (f: FileDef): Promise<Entry> => {
    const path = f.path.replace(/^\/+/, '');
    const base = { path, mode: f.mode, uid: f.uid, gid: f.gid, size: 0, linkname: null, sha256: null, elf: null };
    if (f.type === 'dir') return { ...base, type: 'dir' };
    if (f.type === 'symlink') return { ...base, type: 'symlink', mode: 0o777, linkname: f.target };
    const data = await input.readFile(f.sha256!);
    const sha256 = await input.blobs.put(data);
    if (sha256 !== f.sha256)
      throw new BuildError(
        def.id,
        `${f.path}: the assembly's copy of its content is not the one synth wrote (sha256 ${sha256}, expected ${f.sha256})`,
        { phase: 'check' },
      );
    const elf = parseElf(data);
    const shebang = elf ? undefined : parseShebang(data);
    return { ...base, type: 'file', size: data.length, sha256, elf, ...(shebang ? { shebang } : {}) };
  };
  // A tree is thousands of small files: read a few at a time rather than one round trip after another.
  for (let i = 0; i < all.length; i += READ_BATCH) {
    const batch = all.slice(i, i + READ_BATCH);
    (await Promise.all(batch.map(one))).forEach((e, j) => (out[i + j] = e));
  }
  return out.filter((e) => e.path !== '');
}

const READ_BATCH = 32;

/**
 * A layer must unpack over its parents into the tree the checks saw: no whiteout
 * names (they would delete a parent's files), no non-directory where a parent has a
 * directory (it would hide the directory's content), and no entry whose path passes
 * through a symlink (`esc -> /` plus `esc/usr/bin/sh` writes /usr/bin/sh).
 */
function checkLayerShape(def: ImageDef, parents: readonly (readonly Entry[])[], entries: readonly Entry[]): void {
  const below = new Layers(parents);
  const merged = new Layers([...parents, entries]);
  const bad: string[] = [];
  for (const e of entries) {
    const name = e.path.slice(e.path.lastIndexOf('/') + 1);
    if (name.startsWith('.wh.')) bad.push(`/${e.path}: a whiteout name, which would delete from a parent layer`);
    else if (e.type !== 'dir' && below.get(e.path)?.type === 'dir')
      bad.push(`/${e.path}: a ${e.type} where a parent layer has a directory`);
    const dir = dirname(e.path);
    if (dir !== '' && merged.resolve(dir)?.path !== dir)
      bad.push(
        `/${e.path}: its path passes through a symlink (${
          merged
            .resolve(dir)
            ?.via.map((v) => '/' + v)
            .join(', ') ?? 'unresolvable'
        })`,
      );
  }
  if (bad.length) throw new BuildError(def.id, `the layer would not unpack as checked:\n  ${bad.join('\n  ')}`, { phase: 'check' });
}

function checkForbidden(def: ImageDef, layers: readonly (readonly Entry[])[]): void {
  if (!def.forbid.length) return;
  const res = def.forbid.map(globToRegExp);
  const fs = new Layers(layers);
  // A path counts as what it is in the image: its directories' symlinks followed (/bin/sh is /usr/bin/sh).
  const real = (p: string) => {
    const r = fs.resolve(dirname(p));
    return r ? `${r.path ? r.path + '/' : ''}${p.slice(p.lastIndexOf('/') + 1)}` : p;
  };
  const hits = [...fs.entries()]
    .filter((e) => e.type !== 'dir' && res.some((r) => r.test(e.path) || r.test(real(e.path))))
    .map((e) => e.path)
    .sort();
  if (hits.length) throw new BuildError(def.id, `the image contains what its policies forbid: ${hits.join(', ')}`, { phase: 'check' });
}
