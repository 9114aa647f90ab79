/**
 * The platforms imgsdk builds for, and what each means down the line: the
 * architecture Debian and the image config call it, the stage3 prefix of Gentoo,
 * the ELF machine its programs must have, its dynamic loader and library triplet.
 */
import type { BuilderDef } from './assembly';
import { ImgsdkError } from './errors';

/** What one platform means to the builders, the rootfs pipeline and the image config. */
export interface PlatformInfo {
  /** `linux/amd64` */
  readonly name: string;
  readonly os: 'linux';
  /** GOARCH-style name, as OCI configs and indexes use it (`amd64`, `arm64`). */
  readonly arch: string;
  /** OCI platform variant (`v8` for arm64), or null. */
  readonly variant: string | null;
  /** Debian architecture (`dpkg --print-architecture`, `mmdebstrap --arch`). */
  readonly debianArch: string;
  /** Prefix of Gentoo stage3 flavours (`amd64-openrc`, `arm64-openrc`). */
  readonly stage3Arch: string;
  /** `uname -m` inside a container of this platform. */
  readonly uname: string;
  /** ELF e_machine of its programs (62 x86-64, 183 aarch64). */
  readonly elfMachine: number;
  readonly elfClass: 32 | 64;
  /** glibc's dynamic loader (PT_INTERP). */
  readonly glibcLoader: string;
  /** musl's dynamic loader. */
  readonly muslLoader: string;
  /** Multiarch triplet of the default library directories (`/usr/lib/<triplet>`). */
  readonly triplet: string;
}

const KNOWN: readonly PlatformInfo[] = [
  {
    name: 'linux/amd64',
    os: 'linux',
    arch: 'amd64',
    variant: null,
    debianArch: 'amd64',
    stage3Arch: 'amd64',
    uname: 'x86_64',
    elfMachine: 62,
    elfClass: 64,
    glibcLoader: '/lib64/ld-linux-x86-64.so.2',
    muslLoader: '/lib/ld-musl-x86_64.so.1',
    triplet: 'x86_64-linux-gnu',
  },
  {
    name: 'linux/arm64',
    os: 'linux',
    arch: 'arm64',
    variant: 'v8',
    debianArch: 'arm64',
    stage3Arch: 'arm64',
    uname: 'aarch64',
    elfMachine: 183,
    elfClass: 64,
    glibcLoader: '/lib/ld-linux-aarch64.so.1',
    muslLoader: '/lib/ld-musl-aarch64.so.1',
    triplet: 'aarch64-linux-gnu',
  },
];

/** The platforms imgsdk knows, by name. */
export const PLATFORMS: ReadonlyMap<string, PlatformInfo> = new Map(KNOWN.map((p) => [p.name, p]));

/**
 * The platform every key made before platforms existed meant (builders said
 * `arch: 'amd64'`): an image built for it keeps the key it always had.
 */
export const DEFAULT_PLATFORM = 'linux/amd64';

/** Other spellings of the known platforms (`linux/arm64/v8`, `linux/x86_64`, `arm64`). */
const ALIASES: Readonly<Record<string, string>> = {
  'linux/arm64/v8': 'linux/arm64',
  'linux/aarch64': 'linux/arm64',
  arm64: 'linux/arm64',
  aarch64: 'linux/arm64',
  'linux/x86_64': 'linux/amd64',
  amd64: 'linux/amd64',
  x86_64: 'linux/amd64',
};

/**
 * The canonical name of a platform, or null when imgsdk does not know it.
 * @example normalizePlatform('linux/arm64/v8') // 'linux/arm64'
 */
export function normalizePlatform(name: string): string | null {
  const n = name.trim().toLowerCase();
  if (PLATFORMS.has(n)) return n;
  return ALIASES[n] ?? null;
}

/**
 * The facts of a known platform; throws on an unknown name (synth reports those first).
 * @example platformInfo('linux/arm64').glibcLoader // '/lib/ld-linux-aarch64.so.1'
 */
export function platformInfo(name: string): PlatformInfo {
  const p = PLATFORMS.get(normalizePlatform(name) ?? '');
  if (!p) throw new ImgsdkError('PLATFORM', `unknown platform "${name}" (known: ${[...PLATFORMS.keys()].join(', ')})`);
  return p;
}

/** The platform of the machine running imgsdk (what an image that names none is built for). */
export function hostPlatform(arch: string = process.arch): string {
  return arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
}

/**
 * Checks and normalizes a list of platform names: known, no duplicates, sorted
 * (so the order they are written in changes no key). Problems are messages.
 * @example checkPlatforms(['linux/arm64', 'linux/amd64']) // { platforms: ['linux/amd64', 'linux/arm64'], problems: [] }
 */
export function checkPlatforms(names: readonly string[]): { platforms: string[]; problems: string[] } {
  const problems: string[] = [];
  const out = new Set<string>();
  if (names.length === 0) problems.push('platforms: the list is empty (name at least one, e.g. linux/amd64)');
  for (const n of names) {
    const p = typeof n === 'string' ? normalizePlatform(n) : null;
    if (!p) problems.push(`unknown platform "${String(n)}" (known: ${[...PLATFORMS.keys()].join(', ')})`);
    else if (out.has(p)) problems.push(`platform ${p} is named twice`);
    else out.add(p);
  }
  return { platforms: [...out].sort(), problems };
}

/** The platform of an ELF machine number, or null. */
export function platformOfMachine(machine: number): PlatformInfo | null {
  return KNOWN.find((p) => p.elfMachine === machine) ?? null;
}

/** The OCI `platform` object of a platform (image index entries). */
export function ociPlatform(name: string): { architecture: string; os: string; variant?: string } {
  const p = platformInfo(name);
  return { architecture: p.arch, os: p.os, ...(p.variant ? { variant: p.variant } : {}) };
}

/** Stage3 flavours Kubler and kubler-images use, by architecture. */
export const STAGE3_FLAVOURS: readonly string[] = [
  'amd64-hardened-nomultilib-openrc',
  'amd64-hardened-nomultilib',
  'amd64-hardened-openrc',
  'amd64-hardened-selinux-openrc',
  'amd64-musl-hardened',
  'amd64-musl',
  'amd64-nomultilib-openrc',
  'amd64-nomultilib-systemd',
  'amd64-openrc',
  'amd64-systemd',
  'amd64-llvm-openrc',
  'arm64-openrc',
  'arm64-systemd',
  'arm64-musl',
  'arm64-musl-hardened',
  'arm64-hardened-openrc',
  'arm64-llvm-openrc',
  'x86-openrc',
  'x86-musl',
];

/**
 * The builder of one platform: the definition without its list of platforms and
 * with that platform's architecture (a Gentoo builder's stage3 flavour becomes that
 * platform's: `amd64-openrc` -> `arm64-openrc`). The default platform's variant is
 * the definition a builder naming no platform has, so it keeps its key. A string is
 * a problem (a flavour without a counterpart for that platform).
 * @example forPlatform(deb.def, 'linux/arm64') // { ...def, arch: 'arm64' }
 */
export function forPlatform(def: BuilderDef, platform: string): BuilderDef | string {
  const { platforms: _p, ...rest } = def;
  const info = platformInfo(platform);
  if (def.kind === 'gentoo' && def.gentoo) {
    const flavour = def.gentoo.stage3.replace(/^[^-]+/, info.stage3Arch);
    if (!STAGE3_FLAVOURS.includes(flavour)) {
      return `stage3 flavour "${def.gentoo.stage3}" has no ${platform} counterpart ("${flavour}" is not a known flavour; known: ${STAGE3_FLAVOURS.filter((f) => f.startsWith(info.stage3Arch + '-')).join(', ')})`;
    }
    return { ...rest, arch: info.stage3Arch, gentoo: { ...def.gentoo, stage3: flavour } };
  }
  return { ...rest, arch: info.debianArch };
}
