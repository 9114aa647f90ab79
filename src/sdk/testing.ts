import { nonRootProblem, resolveUser, type AccountDef, type ImageConfigDef, type ImageDef, type Manifest } from '../contract/assembly';
import { formatProblem, ValidationError } from '../contract/errors';
import { App, type AppInput } from './app';
import { Atom } from './portage/atom';
import { normalizePlatform } from '../contract/platform';
import { assemble, type Assembly } from './synth';

/** The Portage files of one image, parsed back into lines. */
export interface PortageView {
  readonly makeConf: string;
  /** `package.use` lines (`atom flag flag`). */
  readonly packageUse: readonly string[];
  readonly acceptKeywords: readonly string[];
  readonly mask: readonly string[];
  readonly unmask: readonly string[];
  readonly provided: readonly string[];
  readonly reposConf: Readonly<Record<string, string>>;
  /** Any file under `portage/`, by relative path. */
  file(path: string): string | undefined;
}

/** One image of a synthesized assembly, with query helpers and assertions. */
export class ImageView {
  /** @internal */
  constructor(
    readonly def: ImageDef,
    readonly key: string,
    private readonly files: ReadonlyMap<string, string | Buffer>,
    /** @internal Kind of the image's builder: how to read its package specs. */
    private readonly kind: 'gentoo' | 'debian' = 'debian',
    /** @internal Accounts of the image and its parents, oldest first. */
    private readonly accounts: readonly AccountDef[] = def.accounts,
  ) {}

  get id(): string {
    return this.def.id;
  }
  get config(): ImageConfigDef {
    return this.def.config;
  }
  get packages(): readonly string[] {
    return this.def.packages;
  }

  /** A file of the image's assembly directory as text (`build.sh`, `apt/packages.list`, ...). */
  file(path: string): string | undefined {
    const f = this.files.get(`${this.def.id}/${path}`);
    return f === undefined ? undefined : f.toString();
  }

  get portage(): PortageView {
    const f = (p: string) => this.file(`portage/${p}`);
    const lines = (p: string) => (f(p) ?? '').split('\n').filter((l) => l && !l.startsWith('#'));
    const repos: Record<string, string> = {};
    const prefix = `${this.def.id}/portage/repos.conf/`;
    for (const [k, v] of this.files) if (k.startsWith(prefix)) repos[k.slice(prefix.length).replace(/\.conf$/, '')] = v.toString();
    return {
      makeConf: f('make.conf') ?? '',
      packageUse: lines('package.use/imgsdk'),
      acceptKeywords: lines('package.accept_keywords/imgsdk'),
      mask: lines('package.mask/imgsdk'),
      unmask: lines('package.unmask/imgsdk'),
      provided: lines('profile/package.provided'),
      reposConf: repos,
      file: f,
    };
  }

  /**
   * Throws unless the image installs `name`: exactly as given, or its bare name
   * (`net-analyzer/nmap` or `nmap` for `=net-analyzer/nmap-7.60:0`, `curl` for `curl=8.0-1`).
   */
  hasPackage(name: string): this {
    if (!this.def.packages.some((p) => p === name || bareNames(p, this.kind).includes(name)))
      fail(`${this.id} does not install ${name} (installs: ${this.def.packages.join(', ') || 'nothing'})`);
    return this;
  }

  /** Throws unless `atom` has USE flag `flag` (`'+ipv6'`, `'-nls'`; a bare name means `+`). */
  usesFlag(atom: string, flag: string): this {
    const want = flag.startsWith('+') ? flag.slice(1) : flag;
    const ok = this.def.portage.use.some((u) => u.atom === atom && u.values.some((v) => (v.startsWith('+') ? v.slice(1) : v) === want));
    if (!ok) fail(`${this.id}: ${atom} has no USE flag ${flag}`);
    return this;
  }

  /**
   * Throws if the image would run as root: its user resolved against the accounts
   * of the image and its parents is uid 0 or gid 0 (as the nonRoot policy judges).
   * A name no declared account has (one a package creates) throws too: only the
   * build knows its uid.
   */
  runsAsNonRoot(): this {
    const u = this.config.user;
    const r = resolveUser(u, this.accounts);
    if (!r) fail(`${this.id}: user ${u} has no .account() here; a package may create it, so only the build knows whether it is root`);
    if (r.uid === 0)
      fail(`${this.id} runs as root (user ${u ?? 'unset'}${u !== null && u !== 'root' && !u.startsWith('0') ? ' is uid 0' : ''})`);
    const problem = nonRootProblem(u, r);
    if (problem) fail(`${this.id} ${problem}`);
    return this;
  }

  /** Throws unless the image adds a file at `path`, with `.file()` or in a `.dir()`. */
  hasFile(path: string): this {
    const inDir = (this.def.dirs ?? []).some((d) => d.entries.some((e) => e.path === path));
    if (!inDir && !this.def.files.some((f) => f.path === path)) fail(`${this.id} adds no file ${path}`);
    return this;
  }

  /** Throws unless the entrypoint is exactly `args`. */
  hasEntrypoint(...args: string[]): this {
    if (JSON.stringify(this.config.entrypoint) !== JSON.stringify(args))
      fail(`${this.id}: entrypoint is ${JSON.stringify(this.config.entrypoint)}, not ${JSON.stringify(args)}`);
    return this;
  }

  /** The platforms the image is built for (its own, a parent's or its builder's), or null: the host's only. */
  get platforms(): readonly string[] | null {
    return this.def.platforms ?? null;
  }

  /**
   * Throws unless the image is built for exactly these platforms (in any order;
   * `arm64` means `linux/arm64`).
   * @example Testing.synth(jq).image('acme/jq').hasPlatforms('linux/amd64', 'linux/arm64')
   */
  hasPlatforms(...platforms: string[]): this {
    const want = platforms.map((p) => normalizePlatform(p) ?? fail(`"${p}" is not a platform imgsdk knows`)).sort();
    const have = [...(this.platforms ?? [])].sort();
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      fail(`${this.id} is built for ${have.length ? have.join(', ') : "the host's platform only (it names none)"}, not ${want.join(', ')}`);
    }
    return this;
  }

  /** Throws unless the image's parent is `id` (or `null` for scratch). */
  hasParent(id: string | null): this {
    if (this.def.parent !== id) fail(`${this.id}: parent is ${this.def.parent ?? 'scratch'}, not ${id ?? 'scratch'}`);
    return this;
  }
}

/** A synthesized app in memory. */
export class TestAssembly {
  /** @internal */
  constructor(readonly assembly: Assembly) {}

  get manifest(): Manifest {
    return this.assembly.manifest;
  }

  /** Ids of every image, sorted. */
  get ids(): string[] {
    return Object.keys(this.manifest.images);
  }

  /** Synth's warnings as lines (`file:line id: message`); empty when there are none. */
  get warnings(): string[] {
    return this.assembly.warnings.map(formatProblem);
  }

  /** One image; throws when the app has no such image. */
  image(id: string): ImageView {
    const def = this.assembly.images.get(id);
    if (!def) fail(`no image ${id} (images: ${this.ids.join(', ')})`);
    const chain: ImageDef[] = [];
    for (let d: ImageDef | undefined = def; d && !chain.includes(d); d = d.parent ? this.assembly.images.get(d.parent) : undefined)
      chain.unshift(d);
    return new ImageView(
      def,
      this.manifest.images[id].key,
      this.assembly.files,
      this.manifest.builders[def.builder]?.kind,
      chain.flatMap((d) => d.accounts),
    );
  }
}

/**
 * Checks image definitions without an engine or files, from any test runner.
 * Assertions throw a plain Error.
 * @example
 * import { Testing } from 'imgsdk/testing';
 * Testing.synth(nmap).image('mynamespace/nmap').usesFlag('net-analyzer/nmap', '-nls').runsAsNonRoot();
 */
export const Testing = {
  /** Synthesizes in memory; throws the ValidationError synth would. */
  synth(...images: AppInput[]): TestAssembly {
    return new TestAssembly(assemble(App.of(images)));
  },
  /**
   * The warnings synth would print, as lines (empty when there are none); throws
   * the ValidationError synth would.
   * @example assert.equal(Testing.warnings(nmap), []);
   */
  warnings(...images: AppInput[]): string[] {
    return assemble(App.of(images)).warnings.map(formatProblem);
  },
  /** The problems synth would report, as lines (empty when there are none). */
  problems(...images: AppInput[]): string[] {
    try {
      assemble(App.of(images));
      return [];
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return e.problems.map(formatProblem);
    }
  },
};

function bareNames(spec: string, kind: 'gentoo' | 'debian'): string[] {
  if (kind === 'debian') return [spec.replace(/[:=/].*$/, '')];
  if (Atom.check(spec) !== null) return [];
  const a = Atom.parse(spec);
  return [a.cpn, a.name];
}

function fail(message: string): never {
  throw new Error(message);
}

export { App };
