import { readFileSync } from 'node:fs';
import { checkArgs, fitting } from './args';
import { resolve } from 'node:path';
import type { BuilderDef, DebianSource, Libc } from '../contract/assembly';
import { sha256 as sha256Of } from '../util/hash';
import { checkPlatforms, DEFAULT_PLATFORM, forPlatform, STAGE3_FLAVOURS } from '../contract/platform';

export { forPlatform, STAGE3_FLAVOURS };
import { Site } from './site';
import { IMAGE_ID, MAX_REPOSITORY_LENGTH, shorten } from '../contract/names';

/** A problem found at the call site, kept until synth reports them all. */
export interface SiteProblem {
  readonly site: Site;
  readonly message: string;
}

/** The brand of a Builder, the same in every copy of imgsdk (see Image.isImage). */
const BUILDER_BRAND = Symbol.for('imgsdk.Builder');

/**
 * Where builds run: a Gentoo stage3 or a Debian rootfs. Create one with
 * `gentoo.builder(...)` or `debian.builder(...)`; images pick it with `.builder(b)`
 * and their children inherit it.
 */
export class Builder {
  /**
   * True for a Builder of any copy of imgsdk; `x instanceof Builder` asks the same.
   * @example if (Builder.isBuilder(x)) console.log(x.id);
   */
  static isBuilder(x: unknown): x is Builder {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BUILDER_BRAND] === true;
  }

  static [Symbol.hasInstance](x: unknown): boolean {
    return Builder.isBuilder(x);
  }

  /** @internal */
  constructor(
    readonly def: BuilderDef,
    /** @internal */ readonly site: Site,
    /** @internal */ readonly problems: readonly SiteProblem[],
  ) {}

  get id(): string {
    return this.def.id;
  }
  get kind(): 'gentoo' | 'debian' {
    return this.def.kind;
  }
  get libc(): Libc {
    return this.def.libc;
  }
  /** The platforms it builds for, or null when it names none (the host's). */
  get platforms(): readonly string[] | null {
    return this.def.platforms ?? null;
  }
}

Object.defineProperty(Builder.prototype, BUILDER_BRAND, { value: true });

function platformsOf(names: readonly string[] | undefined, problems: SiteProblem[], site: Site): readonly string[] | undefined {
  if (names === undefined) return undefined;
  const r = checkPlatforms(names);
  for (const m of r.problems) problems.push({ site, message: m });
  return r.platforms;
}

export interface GentooBuilderProps {
  /** Stage3 flavour, one of {@link STAGE3_FLAVOURS}. */
  readonly stage3: string;
  /** Profile to select (`eselect profile set`). @default the stage3's own */
  readonly profile?: string;
  /** make.conf variables of the builder (CFLAGS, MAKEOPTS, FEATURES, ...). @default {} */
  readonly makeConf?: Readonly<Record<string, string>>;
  /** Stage3 date, e.g. `20241020T170324Z`. @default 'latest' */
  readonly date?: string;
  /** Gentoo mirror. @default 'https://distfiles.gentoo.org' */
  readonly mirror?: string;
  /** Pull this stage3 image instead of downloading the tarball. @default none */
  readonly from?: string;
  /** GPG key (armored text or a file path) to verify the stage3 with. @default none (sha512 only) */
  readonly gpgKey?: string;
  /** Portage snapshot: 'latest', a date, or an image holding /var/db/repos/gentoo. @default 'latest' */
  readonly portage?: string;
  /**
   * Platforms to build for (`linux/amd64`, `linux/arm64`); the stage3 flavour is taken
   * for each (`amd64-openrc` -> `arm64-openrc`). Images inherit them.
   * @default none: the host's platform
   */
  readonly platforms?: readonly string[];
}

export interface DebianBuilderProps {
  /** Debian suite. @default 'bookworm' */
  readonly suite?: string;
  /** Debian mirror. @default 'http://deb.debian.org/debian' (or the snapshot's, with `snapshot`) */
  readonly mirror?: string;
  /** Read `<suite>-updates` too, as Debian's own default sources do. @default true (false for sid, unstable, experimental) */
  readonly updates?: boolean;
  /**
   * The security archive `<suite>-security` is read from, or false for none.
   * @default 'http://deb.debian.org/debian-security' (or the snapshot's; false for sid, unstable, experimental)
   */
  readonly security?: string | false;
  /**
   * Pin the archive to a snapshot: a timestamp in snapshot.debian.org's form
   * (`20261130T000000Z`). Mirror and security archive become
   * `<snapshotBase>/archive/debian/<ts>` and `<snapshotBase>/archive/debian-security/<ts>`,
   * so an old lock stays installable after the archive moved on.
   * @default none (the live archive)
   */
  readonly snapshot?: string;
  /** Where snapshots are served, in snapshot.debian.org's layout. @default 'https://snapshot.debian.org' */
  readonly snapshotBase?: string;
  /**
   * More apt sources, one-line style, read in phase 1 and by `imgsdk lock` (not by the
   * bootstrap): `deb [signed-by=/usr/share/keyrings/x.gpg] https://example.org/debian bookworm main`.
   * @default []
   */
  readonly sources?: readonly string[];
  /** Network mode of phase-1 and lock containers (`host` reaches a repository on loopback). @default the engine's default */
  readonly network?: string;
  /** Bootstrap with mmdebstrap on the host (the default when no other source is given). */
  readonly bootstrap?: 'mmdebstrap' | { readonly variant?: string; readonly include?: readonly string[] };
  /** Import this rootfs tarball (path relative to the defining file). */
  readonly rootfs?: string;
  /** Pull this image, e.g. `debian:bookworm-slim`. */
  readonly from?: string;
  /**
   * Platforms to build for (`linux/amd64`, `linux/arm64`): one builder per platform,
   * bootstrapped with `mmdebstrap --arch`; phase 1 of another platform than the
   * host's runs emulated (qemu-user-static). Images inherit them.
   * @default none: the host's platform
   */
  readonly platforms?: readonly string[];
}

/** Suites without `-updates` and `-security`. */
const ROLLING = new Set(['sid', 'unstable', 'experimental', 'rc-buggy']);

/** snapshot.debian.org's timestamp form. */
const SNAPSHOT = /^\d{8}T\d{6}Z$/;

// A builder image is tagged `imgsdk-builder/<ns>-<name>:<key12>`; its repository name must stay within a registry's 255.
const MAX_BUILDER_ID = MAX_REPOSITORY_LENGTH - 'imgsdk-builder/'.length;

/** The id of a builder whose id was not a string (the problem says so). */
const INVALID_BUILDER_ID = 'invalid/builder';

function checkId(id: string, problems: SiteProblem[], site: Site): void {
  if (id.length > MAX_BUILDER_ID)
    problems.push({
      site,
      message: `"${shorten(id)}" is ${id.length} characters long; a builder id takes at most ${MAX_BUILDER_ID} (its image is imgsdk-builder/<id>)`,
    });
  else if (!IMAGE_ID.test(id))
    problems.push({ site, message: `"${id}" is not an id of the form namespace/name (lowercase letters, digits, . _ -)` });
}

/** Gentoo builders: a stage3 plus Portage. */
export const gentoo = {
  /**
   * A Gentoo builder from a stage3 flavour.
   * @example
   * const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
   */
  builder(id: string, props: GentooBuilderProps): Builder {
    const site = Site.here(gentoo.builder);
    const problems: SiteProblem[] = [];
    // JavaScript callers: wrong types are a problem at the call site, and the body sees safe stand-ins.
    const shape = '{stage3:string,date:?string,portage:?string}';
    const bad = checkArgs('gentoo.builder()', ['string', shape], [id, props]);
    if (bad) {
      problems.push({ site, message: bad });
      if (typeof id !== 'string') id = INVALID_BUILDER_ID;
      props = { stage3: '', ...fitting<GentooBuilderProps>(props, shape) };
    }
    checkId(id, problems, site);
    if (!STAGE3_FLAVOURS.includes(props.stage3)) {
      problems.push({ site, message: `unknown stage3 flavour "${props.stage3}" (known: ${STAGE3_FLAVOURS.join(', ')})` });
    }
    const date = props.date ?? 'latest';
    if (date !== 'latest' && !/^\d{8}(T\d{6}Z)?$/.test(date)) {
      problems.push({ site, message: `stage3 date "${date}" is neither "latest" nor YYYYMMDD[THHMMSSZ]` });
    }
    const arch = props.stage3.split('-')[0];
    const platforms = platformsOf(props.platforms, problems, site);
    const def: BuilderDef = {
      id,
      kind: 'gentoo',
      libc: props.stage3.includes('musl') ? 'musl' : 'glibc',
      arch,
      gentoo: {
        stage3: props.stage3,
        date,
        profile: props.profile ?? null,
        makeConf: sortRecord(props.makeConf ?? {}),
        mirror: props.mirror ?? 'https://distfiles.gentoo.org',
        from: props.from ?? null,
        gpgKey: props.gpgKey ?? null,
        portage: props.portage ?? 'latest',
      },
      debian: null,
      ...(platforms ? { platforms } : {}),
    };
    if (platforms && STAGE3_FLAVOURS.includes(props.stage3)) {
      for (const p of platforms) {
        const v = forPlatform(def, p);
        if (typeof v === 'string') problems.push({ site, message: v });
      }
    }
    return new Builder(def, site, problems);
  },
};

/** Debian builders: a Debian rootfs plus apt. */
export const debian = {
  /**
   * A Debian builder, bootstrapped with mmdebstrap by default. Packages come from
   * the suite, `<suite>-updates` and `<suite>-security`, as on a Debian host with
   * default sources, so images get security updates.
   * @example
   * const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
   * const deb2 = debian.builder('acme/slim', { from: 'debian:bookworm-slim' });
   * const pinned = debian.builder('acme/bookworm-nov', { suite: 'bookworm', snapshot: '20261130T000000Z' });
   */
  builder(id: string, props: DebianBuilderProps = {}): Builder {
    const site = Site.here(debian.builder);
    const problems: SiteProblem[] = [];
    const shape =
      '{suite:?string,snapshot:?string,snapshotBase:?string,mirror:?string,updates:?boolean,sources:?strings,from:?string,rootfs:?string,network:?string}';
    const bad = checkArgs('debian.builder()', ['string', `?${shape}`], [id, props]);
    if (bad) {
      problems.push({ site, message: bad });
      if (typeof id !== 'string') id = INVALID_BUILDER_ID;
      props = fitting<DebianBuilderProps>(props, shape);
    }
    checkId(id, problems, site);
    const given = (['bootstrap', 'rootfs', 'from'] as const).filter((k) => props[k] !== undefined);
    if (given.length > 1)
      problems.push({ site, message: `a Debian builder takes one of bootstrap, rootfs or from, not ${given.join(' and ')}` });
    const suite = props.suite ?? 'bookworm';
    if (!/^[a-z][a-z0-9-]*$/.test(suite)) problems.push({ site, message: `"${suite}" is not a Debian suite name` });
    let source: DebianSource;
    if (props.rootfs !== undefined) {
      const path = resolve(site.dir(), props.rootfs);
      let sha256 = '';
      try {
        sha256 = sha256Of(readFileSync(path));
      } catch (e) {
        problems.push({ site, message: `rootfs tarball ${path} cannot be read: ${(e as Error).message}` });
      }
      source = { kind: 'rootfs', path, sha256 };
    } else if (props.from !== undefined) {
      source = { kind: 'pull', image: props.from };
    } else {
      const b = typeof props.bootstrap === 'object' ? props.bootstrap : {};
      source = { kind: 'mmdebstrap', variant: b.variant ?? 'minbase', include: [...(b.include ?? [])].sort() };
    }
    const snapshot = props.snapshot ?? null;
    if (snapshot !== null && !SNAPSHOT.test(snapshot))
      problems.push({
        site,
        message: `snapshot "${snapshot}" is not a timestamp of the form YYYYMMDDTHHMMSSZ (as snapshot.debian.org uses)`,
      });
    if (snapshot !== null && (props.mirror !== undefined || typeof props.security === 'string')) {
      problems.push({
        site,
        message: 'snapshot sets the mirror and the security archive: give snapshotBase instead of mirror or security',
      });
    }
    const base = (props.snapshotBase ?? 'https://snapshot.debian.org').replace(/\/+$/, '');
    const rolling = ROLLING.has(suite);
    const security =
      props.security === false || (props.security === undefined && rolling)
        ? null
        : snapshot
          ? `${base}/archive/debian-security/${snapshot}`
          : (props.security ?? 'http://deb.debian.org/debian-security');
    const sources = [...(props.sources ?? [])];
    for (const line of sources)
      if (!/^deb(-src)?\s+\S/.test(line) || line.includes('\n'))
        problems.push({ site, message: `source "${line}" is not a one-line apt source (deb [options] URI suite [components])` });
    const platforms = platformsOf(props.platforms, problems, site);
    if (platforms && source.kind !== 'mmdebstrap' && platforms.some((p) => p !== DEFAULT_PLATFORM)) {
      problems.push({
        site,
        message: `platforms ${platforms.join(', ')} need a bootstrapped builder (mmdebstrap --arch): a ${source.kind === 'pull' ? '`from` image' : '`rootfs` tarball'} has one architecture`,
      });
    }
    const def: BuilderDef = {
      id,
      kind: 'debian',
      libc: 'glibc',
      arch: 'amd64',
      gentoo: null,
      debian: {
        suite,
        mirror: snapshot ? `${base}/archive/debian/${snapshot}` : (props.mirror ?? 'http://deb.debian.org/debian'),
        updates: props.updates ?? !rolling,
        security,
        snapshot,
        sources,
        network: props.network ?? null,
        source,
      },
      ...(platforms ? { platforms } : {}),
    };
    return new Builder(def, site, problems);
  },
};

export function sortRecord<V>(r: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}
