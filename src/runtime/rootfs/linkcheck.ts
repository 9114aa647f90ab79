import type { BlobStore } from '../store/blobs';
import type { ElfInfo, Entry } from '../store/entry';
import { comparePaths, dirname, globToRegExp, Layers, normalizePath, type Resolved } from './resolve';

/**
 * The link check: every dynamically linked ELF file of an image must find its
 * interpreter and each DT_NEEDED library the way the dynamic linker would, in this
 * layer or a parent's, without running anything. `Loader` is that search, shared
 * with the closure prune.
 */

export type Libc = 'glibc' | 'musl';

/** Options of the library search. */
export interface LoaderOptions {
  readonly libc: Libc;
  /**
   * musl architecture name for `etc/ld-musl-<arch>.path` (`x86_64`, `aarch64`).
   * @default taken from the interpreter's name, else from e_machine
   */
  readonly arch?: string;
  /**
   * Bodies of the loader configuration files by normalized path: `etc/ld.so.conf`, the
   * files it includes, `etc/ld-musl-*.path`. `readLoaderConfig` reads them from the blobs.
   * @default none: only RPATH/RUNPATH and the default directories are searched
   */
  readonly ldSoConf?: ReadonlyMap<string, string>;
}

/** Which rule found a library. */
export type FoundBy = 'path' | 'rpath' | 'runpath' | 'conf' | 'default' | 'self';

/** A library search's outcome. */
export type FindResult =
  | { readonly ok: true; readonly path: string; readonly target: Resolved; readonly how: FoundBy }
  | {
      readonly ok: false;
      readonly searched: readonly string[];
      /** Candidates skipped for another class or machine. */
      readonly wrongAbi: readonly string[];
      /** Where ld.so.conf would find it, had the image an ld.so.cache. */
      readonly confOnly?: string;
    };

/** One edge met while walking what a file loads. */
export type LoadEvent =
  | { readonly kind: 'interp'; readonly from: string; readonly name: string; readonly target: Resolved | null }
  | { readonly kind: 'needed'; readonly from: string; readonly name: string; readonly result: FindResult };

interface Obj {
  readonly path: string;
  readonly elf: ElfInfo;
}

const TRIPLETS: Readonly<Record<string, readonly string[]>> = {
  '62/64': ['x86_64-linux-gnu'],
  '62/32': ['x86_64-linux-gnux32'],
  '3/32': ['i386-linux-gnu'],
  '183/64': ['aarch64-linux-gnu'],
  '40/32': ['arm-linux-gnueabihf', 'arm-linux-gnueabi'],
  '21/64': ['powerpc64le-linux-gnu', 'powerpc64-linux-gnu'],
  '20/32': ['powerpc-linux-gnu'],
  '22/64': ['s390x-linux-gnu'],
  '243/64': ['riscv64-linux-gnu'],
  '8/32': ['mipsel-linux-gnu', 'mips-linux-gnu'],
  '8/64': ['mips64el-linux-gnuabi64', 'mips64-linux-gnuabi64'],
  '258/64': ['loongarch64-linux-gnu'],
  '43/64': ['sparc64-linux-gnu'],
};
const PLATFORMS: Readonly<Record<number, readonly string[]>> = {
  62: ['x86_64', 'haswell', 'xeon_phi'],
  3: ['i686', 'i586', 'i486', 'i386'],
  183: ['aarch64'],
  40: ['v7l', 'v6l', 'v5l'],
  21: ['power9', 'power8', 'ppc64le', 'ppc64'],
  22: ['z13', 'z196', 's390x'],
  243: ['riscv64'],
};
const MUSL_ARCH: Readonly<Record<string, readonly string[]>> = {
  '62/64': ['x86_64'],
  '62/32': ['x32'],
  '3/32': ['i386'],
  '183/64': ['aarch64', 'aarch64_be'],
  '40/32': ['armhf', 'arm', 'armebhf', 'armeb'],
  '21/64': ['powerpc64le', 'powerpc64'],
  '20/32': ['powerpc'],
  '22/64': ['s390x'],
  '243/64': ['riscv64'],
  '8/32': ['mipsel', 'mips'],
  '258/64': ['loongarch64'],
};
/** Names musl's loader answers itself: libc, libm, libpthread... are all the one libc.so. */
const MUSL_SELF = /^lib(?:c|pthread|rt|m|dl|util|xnet)\./;

const abi = (e: ElfInfo) => `${e.machine}/${e.class}`;

/**
 * The dynamic linker's library search over a Layers view: glibc's order (DT_RPATH of the
 * object and its loaders when it has no DT_RUNPATH, DT_RUNPATH, ld.so.conf through the
 * cache, default directories) or musl's (RPATH/RUNPATH up the chain, then
 * `etc/ld-musl-<arch>.path` or `/lib:/usr/local/lib:/usr/lib`). A candidate counts only
 * when it is an ELF file of the same class and machine, since ld.so skips others.
 */
export class Loader {
  /** ld.so.conf's directories; glibc's ld.so reads them only through etc/ld.so.cache. */
  private readonly confDirs: readonly string[];
  private readonly hasLdCache: boolean;

  constructor(
    readonly fs: Layers,
    private readonly opts: LoaderOptions,
  ) {
    this.confDirs = opts.libc === 'glibc' ? ldSoConfDirs(fs, (p) => opts.ldSoConf?.get(p)) : [];
    this.hasLdCache = fs.lookup('etc/ld.so.cache') !== undefined;
  }

  /**
   * Finds library `name` as needed by object `from` (found at path `from.path`), whose
   * loaders up to the executable are `loaders` (nearest first).
   */
  find(name: string, from: Obj, loaders: readonly Obj[] = []): FindResult {
    if (this.opts.libc === 'musl' && MUSL_SELF.test(name)) {
      // musl's loader is its libc and answers these names itself, whoever asks.
      const target = [from.elf.interp, ...this.muslArches(from).map((a) => `lib/ld-musl-${a}.so.1`)]
        .flatMap((p) => (p ? [this.fs.resolve(p)] : []))
        .find((r) => r?.entry.elf);
      if (target) return { ok: true, path: target.path, target, how: 'self' };
    }
    const searched: string[] = [];
    const wrongAbi: string[] = [];
    for (const { dir, how } of this.searchDirs(name, from, loaders)) {
      const candidate = dir === '' ? name : `${dir}/${name}`;
      if (searched.includes(candidate)) continue;
      searched.push(candidate);
      const target = this.fs.resolve(candidate);
      if (!target || target.entry.type !== 'file' || !target.entry.elf) continue;
      if (abi(target.entry.elf) === abi(from.elf)) return { ok: true, path: candidate, target, how };
      wrongAbi.push(candidate);
    }
    if (this.hasLdCache || name.includes('/')) return { ok: false, searched, wrongAbi };
    // Without the cache ld.so never looks in ld.so.conf's directories; say so if the library is there.
    const confOnly = this.confDirs
      .map((d) => `${d}/${name}`)
      .find((c) => {
        const t = this.fs.resolve(c);
        return t?.entry.type === 'file' && t.entry.elf && abi(t.entry.elf) === abi(from.elf);
      });
    return confOnly ? { ok: false, searched, wrongAbi, confOnly } : { ok: false, searched, wrongAbi };
  }

  private *searchDirs(name: string, from: Obj, loaders: readonly Obj[]): Generator<{ dir: string; how: FoundBy }> {
    if (name.includes('/')) {
      // A needed name with a slash is a path, not a search (relative ones are taken from /).
      yield { dir: '', how: 'path' };
      return;
    }
    const e = from.elf;
    if (this.opts.libc === 'musl') {
      for (const o of [from, ...loaders]) {
        const list = o.elf.runpath.length > 0 ? o.elf.runpath : o.elf.rpath;
        for (const d of this.expand(list, o, false)) yield { dir: d, how: o.elf.runpath.length > 0 ? 'runpath' : 'rpath' };
      }
      for (const d of this.muslPath(from)) yield { dir: d, how: 'default' };
      return;
    }
    if (e.runpath.length === 0) {
      for (const o of [from, ...loaders]) for (const d of this.expand(o.elf.rpath, o, true)) yield { dir: d, how: 'rpath' };
    }
    for (const d of this.expand(e.runpath, from, true)) yield { dir: d, how: 'runpath' };
    if (this.hasLdCache) for (const d of this.confDirs) yield { dir: d, how: 'conf' };
    for (const d of glibcDefaultDirs(e)) yield { dir: d, how: 'default' };
  }

  /** Expands `$ORIGIN` (all libcs) and `$LIB`/`$PLATFORM` (glibc) into every plausible directory. */
  private expand(list: readonly string[], o: Obj, glibc: boolean): string[] {
    const origin = '/' + dirname(o.path);
    const triplets = TRIPLETS[abi(o.elf)] ?? [];
    const libs =
      o.elf.class === 64 ? ['lib64', ...triplets.map((t) => `lib/${t}`), 'lib'] : ['lib', 'lib32', ...triplets.map((t) => `lib/${t}`)];
    const subst: [RegExp, readonly string[]][] = [[/\$(?:ORIGIN\b|\{ORIGIN\})/, [origin]]];
    if (glibc) {
      subst.push([/\$(?:LIB\b|\{LIB\})/, libs], [/\$(?:PLATFORM\b|\{PLATFORM\})/, PLATFORMS[o.elf.machine] ?? []]);
    }
    const out: string[] = [];
    for (const item of list) {
      let forms = [item];
      for (const [re, values] of subst)
        forms = forms.flatMap((f) => (re.test(f) ? values.map((v) => f.replace(new RegExp(re, 'g'), v)) : [f]));
      for (const f of forms) {
        // An unexpanded `$` (an unknown token, or musl's literal `$LIB`) names no real directory.
        if (!f.includes('$')) out.push(normalizePath(f, true));
      }
    }
    return out;
  }

  private muslArches(from: Obj): readonly string[] {
    const fromInterp = /ld-musl-(.+)\.so\.1$/.exec(from.elf.interp ?? '')?.[1];
    return this.opts.arch ? [this.opts.arch] : fromInterp ? [fromInterp] : (MUSL_ARCH[abi(from.elf)] ?? []);
  }

  private muslPath(from: Obj): string[] {
    for (const arch of this.muslArches(from)) {
      const body = this.opts.ldSoConf?.get(`etc/ld-musl-${arch}.path`);
      // When the file exists it replaces the default path entirely.
      if (body !== undefined) return splitList(body).map((d) => normalizePath(d, true));
    }
    return ['lib', 'usr/local/lib', 'usr/lib'];
  }

  /**
   * Walks what `root` loads: its interpreter, then each DT_NEEDED, transitively.
   * Objects already in `seen` (keyed with their loader chain, which changes the search)
   * are not walked again, so one `seen` shared across roots walks each library once.
   */
  walk(root: Obj, onEvent: (ev: LoadEvent) => void, seen: Set<string> = new Set()): void {
    const rootInterp = root.elf.interp ? this.fs.resolve(root.elf.interp) : null;
    // glibc maps the interpreter before anything else; a DT_NEEDED naming it matches by soname.
    const preloaded = new Set<string>();
    if (root.elf.interp && rootInterp) {
      preloaded.add(root.elf.interp.slice(root.elf.interp.lastIndexOf('/') + 1));
      if (rootInterp.entry.elf?.soname) preloaded.add(rootInterp.entry.elf.soname);
    }
    if (root.elf.interp) onEvent({ kind: 'interp', from: root.path, name: root.elf.interp, target: rootInterp });
    const stack: { obj: Obj; loaders: readonly Obj[] }[] = [{ obj: root, loaders: [] }];
    while (stack.length > 0) {
      const { obj, loaders } = stack.pop()!;
      const key = [obj.path, root.elf.interp ?? '', ...loaders.filter((l) => l.elf.rpath.length > 0).map((l) => l.path)].join('\0');
      if (seen.has(key)) continue;
      seen.add(key);
      for (const name of obj.elf.needed) {
        if (preloaded.has(name)) continue;
        const result = this.find(name, obj, loaders);
        onEvent({ kind: 'needed', from: obj.path, name, result });
        if (result.ok && result.how !== 'self') {
          stack.push({ obj: { path: result.path, elf: result.target.entry.elf! }, loaders: [obj, ...loaders] });
        }
      }
    }
  }
}

function glibcDefaultDirs(e: ElfInfo): string[] {
  const multiarch = (TRIPLETS[abi(e)] ?? []).flatMap((t) => [`lib/${t}`, `usr/lib/${t}`]);
  const own = e.class === 64 ? ['lib64', 'usr/lib64'] : ['lib32', 'usr/lib32'];
  return [...multiarch, ...own, 'lib', 'usr/lib'];
}

/** ld.so.conf and musl path lists separate directories by newlines, colons, commas or blanks. */
function splitList(body: string): string[] {
  return body
    .split('\n')
    .map((l) => l.replace(/#.*/, ''))
    .flatMap((l) => l.split(/[\s:,]+/))
    .filter((d) => d !== '');
}

/**
 * Directories named by `etc/ld.so.conf` and its `include`s, in order. `read` returns a
 * file's body (or undefined); each included glob is matched against the layers'
 * entries, relative ones against the including file's directory, as ldconfig does.
 */
function ldSoConfDirs(fs: Layers, read: (path: string) => string | undefined, file = 'etc/ld.so.conf', depth = 0): string[] {
  const body = read(file);
  if (body === undefined || depth > 8) return [];
  const dirs: string[] = [];
  for (const line of body.split('\n').map((l) => l.replace(/#.*/, '').trim())) {
    const inc = /^include\s+(.*)$/.exec(line);
    if (inc) {
      for (const f of confIncludes(fs, file, inc[1])) dirs.push(...ldSoConfDirs(fs, read, f, depth + 1));
    } else if (line !== '' && !/^hwcap\s/.test(line)) {
      dirs.push(...splitList(line).map((d) => normalizePath(d, true)));
    }
  }
  return dirs;
}

function confIncludes(fs: Layers, file: string, patterns: string): string[] {
  const out: string[] = [];
  for (const p of patterns.split(/\s+/).filter((s) => s !== '')) {
    const abs = p.startsWith('/') ? p : `/${dirname(file)}/${p}`;
    const re = globToRegExp(abs.includes('/') ? abs : '/' + abs);
    const hits = [...fs.entries()].filter((e) => e.type !== 'dir' && re.test(e.path)).map((e) => e.path);
    out.push(...hits.sort());
  }
  return out;
}

/**
 * Reads the loader configuration of the layers from the blob store: `etc/ld.so.conf`,
 * the files it includes, and every `etc/ld-musl-*.path`. The result is LoaderOptions.ldSoConf.
 */
export async function readLoaderConfig(layers: readonly (readonly Entry[])[], blobs: BlobStore): Promise<Map<string, string>> {
  const fs = new Layers(layers);
  const out = new Map<string, string>();
  const load = async (path: string) => {
    const r = fs.resolve(path);
    if (r?.entry.sha256) out.set(path, (await blobs.read(r.entry.sha256)).toString('utf8'));
  };
  for (const e of fs.entries()) if (/^etc\/ld-musl-[^/]+\.path$/.test(e.path)) await load(e.path);
  // Includes name files by glob, so the tree is walked a level at a time: read, parse, read what it names.
  const todo = ['etc/ld.so.conf'];
  for (let depth = 0; todo.length > 0 && depth <= 8; depth++) {
    const level = todo.splice(0);
    for (const f of level) if (!out.has(f)) await load(f);
    for (const f of level) {
      const body = out.get(f);
      if (body === undefined) continue;
      for (const m of body.matchAll(/^\s*include\s+([^#\n]*)/gm)) todo.push(...confIncludes(fs, f, m[1]).filter((p) => !out.has(p)));
    }
  }
  return out;
}

/** One library (or interpreter) a file cannot load. */
export interface LinkProblem {
  /** The file that needs it (`(needs)` for the image's declared dlopen needs). */
  readonly file: string;
  /** The DT_NEEDED name, interpreter path or declared need. */
  readonly soname: string;
  readonly message: string;
}

/** Options of linkCheck. */
export interface LinkCheckOptions extends LoaderOptions {
  /** Sonames loaded with dlopen (`libnss_files.so.2`) that must be found in the system directories. */
  readonly needs?: readonly string[];
  /**
   * Check only what runs: executables (files with an interpreter), what they load, and
   * `needs`. Shared objects nothing of that loads are modules, which
   * dropUnloadableModules judges. Otherwise every ELF file of the layer is checked.
   * @default false
   */
  readonly executablesOnly?: boolean;
}

/**
 * Checks every dynamically linked ELF file of the last layer (this image) against all
 * layers: its interpreter exists and every library it loads, transitively, is found by
 * the dynamic linker's rules. Returns the problems sorted by file and soname; empty
 * when all resolve.
 *
 * @example
 * const problems = linkCheck([glibc, nmap], { libc: 'glibc', ldSoConf: await readLoaderConfig([glibc, nmap], blobs) });
 * // [{ file: 'usr/bin/nmap', soname: 'libstdc++.so.6', message: 'usr/bin/nmap needs libstdc++.so.6, which no layer provides (searched: ...)' }]
 */
export function linkCheck(layers: readonly (readonly Entry[])[], opts: LinkCheckOptions): LinkProblem[] {
  const fs = new Layers(layers);
  const loader = new Loader(fs, opts);
  const problems = new Map<string, LinkProblem>();
  const add = (file: string, soname: string, message: string) => problems.set(`${file}\0${soname}`, { file, soname, message });
  const onEvent = (ev: LoadEvent) => {
    if (ev.kind === 'needed') {
      if (!ev.result.ok) add(ev.from, ev.name, `${ev.from} needs ${ev.name}, ${missing(ev.result)}`);
    } else if (!ev.target) add(ev.from, ev.name, `${ev.from} needs interpreter ${ev.name}, which no layer provides`);
    else if (ev.target.entry.type !== 'file' || !ev.target.entry.elf) {
      add(ev.from, ev.name, `${ev.from} needs interpreter ${ev.name}, which is not an ELF file`);
    }
  };

  const seen = new Set<string>();
  for (const e of layers[layers.length - 1] ?? []) {
    if (e.type !== 'file' || !e.elf || (e.elf.type !== 2 && e.elf.type !== 3)) continue;
    if (!e.elf.interp && (e.elf.needed.length === 0 || opts.executablesOnly)) continue;
    loader.walk({ path: e.path, elf: e.elf }, onEvent, seen);
  }

  if (opts.needs && opts.needs.length > 0) {
    // dlopen from the program: no RPATH of a library applies, and the ABI is the programs'.
    const program = findProgram(fs);
    for (const name of opts.needs) {
      if (!program) {
        add('(needs)', name, `the image needs ${name} (declared), but has no dynamically linked program to load it`);
        continue;
      }
      const r = loader.find(name, { path: '', elf: { ...program.elf, rpath: [], runpath: [] } });
      if (!r.ok) add('(needs)', name, `the image needs ${name} (declared), ${missing(r)}`);
      else if (r.how !== 'self') loader.walk({ path: r.path, elf: r.target.entry.elf! }, onEvent, seen);
    }
  }
  return [...problems.values()].sort((a, b) => comparePaths(a.file, b.file) || comparePaths(a.soname, b.soname));
}

function missing(r: FindResult & { ok: false }): string {
  const searched = `searched: ${r.searched.map((p) => '/' + p).join(', ')}`;
  if (r.confOnly) {
    return `found at /${r.confOnly} only through ld.so.conf, which glibc reads through etc/ld.so.cache, and no layer has one (keep 'ldcache', or use RUNPATH) (${searched})`;
  }
  if (r.wrongAbi.length > 0) return `found only for another class or machine at ${r.wrongAbi.map((p) => '/' + p).join(', ')} (${searched})`;
  return `which no layer provides (${searched})`;
}

/** The program dlopen runs in: an executable of the image, the last layer's first. */
function findProgram(fs: Layers): Obj | null {
  let best: Obj | null = null;
  for (const e of fs.entries()) {
    if (e.type !== 'file' || !e.elf?.interp) continue;
    if (!best || fs.layerOf(e.path) > fs.layerOf(best.path)) best = { path: e.path, elf: e.elf };
  }
  return best;
}
