/**
 * The built-in policies, judged again on what the build made (ImageDef.rules): synth
 * sees names, the build sees what a file is and what a name resolved to.
 *
 * - nonRoot: the config's user resolved against every account the image has, the
 *   ones packages created included, is neither uid 0 nor gid 0.
 * - noShell: no file of this image's own layer is a shell, whatever its name and
 *   whichever source put it there (packages, hooks, `.file()`, `.copy()`, directory
 *   sources: the check runs over the layer's final entries). A file is a shell when
 *   (1) the image's /etc/shells, or a package's registration of a shell
 *   (/usr/share/debianutils/shells.d/, what `add-shell` and update-shells read),
 *   names a path that leads to it; (2) it is an ELF executable of a package of the
 *   shells section (Debian `Section: shells`, Gentoo `app-shells/`); or (3) its
 *   bytes carry a shell's identity: the reserved words of a shell grammar
 *   (`esac` and `elif` for the Bourne/POSIX family — dash, bash, ksh, mksh, posh,
 *   zsh, busybox —, `endsw` and `breaksw` for csh and tcsh) or the banner of a shell
 *   outside those families (rc, sash, yash, fish). (3) is what finds a shell copied
 *   or renamed by a hook or `.file()`; in the Debian archive's shells and 289 other
 *   programs (coreutils, perl, python, git, vim, ssh, tmux, util-linux, ...) it
 *   matched every shell and nothing else.
 * Parents' layers were judged when they were built (policies apply to the whole app).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { type ImageDef, nonRootProblem, resolveUser, runsSomething, type UserAccount } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import type { BlobStore } from '../store/blobs';
import type { Entry } from '../store/entry';
import type { PackageInfo } from '../store/state';
import { Layers } from './resolve';

/** A shell found in a layer, and how it was recognized. */
export interface ShellFound {
  readonly path: string;
  readonly why: string;
}

/** Byte strings that only shells carry, each with the name said in the error. */
const IDENTITIES: readonly { readonly what: string; readonly all: readonly Buffer[] }[] = [
  { what: "a POSIX shell (its grammar's reserved words esac and elif)", all: ['\0esac\0', '\0elif\0'].map((s) => Buffer.from(s)) },
  { what: 'a C shell (its reserved words endsw and breaksw)', all: ['\0endsw\0', '\0breaksw\0'].map((s) => Buffer.from(s)) },
  { what: 'the rc shell', all: [Buffer.from('rc: cannot shift')] },
  { what: 'sash, the stand-alone shell', all: [Buffer.from('Stand-alone shell')] },
  { what: 'yash', all: [Buffer.from('Yet another shell')] },
  { what: 'the fish shell', all: [Buffer.from('fish universal variable')] },
];
const LONGEST = Math.max(...IDENTITIES.flatMap((i) => i.all.map((b) => b.length)));
const CHUNK = 1 << 20;

/** Verdicts by body sha256: a parent's or an unchanged file is read once per process. */
const verdicts = new Map<string, string | null>();

/** Which shell identity the body of a blob carries, or null; read in chunks (bodies of any size). */
function identityOf(blobs: BlobStore, sha256: string): string | null {
  const known = verdicts.get(sha256);
  if (known !== undefined) return known;
  const seen = IDENTITIES.map((i) => i.all.map(() => false));
  let fd: number;
  try {
    fd = openSync(blobs.path(sha256), 'r');
  } catch {
    return null; // a missing blob fails the layer writer, which names it
  }
  try {
    const buf = Buffer.alloc(CHUNK + LONGEST);
    let carry = 0;
    for (;;) {
      const n = readSync(fd, buf, carry, CHUNK, null);
      if (n <= 0) break;
      const view = buf.subarray(0, carry + n);
      IDENTITIES.forEach((id, i) =>
        id.all.forEach((needle, j) => {
          if (!seen[i][j] && view.includes(needle)) seen[i][j] = true;
        }),
      );
      // Keep the tail: a needle may straddle two chunks.
      carry = Math.min(LONGEST - 1, view.length);
      view.copy(buf, 0, view.length - carry);
    }
  } finally {
    closeSync(fd);
  }
  const hit = IDENTITIES.find((_, i) => seen[i].every(Boolean))?.what ?? null;
  verdicts.set(sha256, hit);
  return hit;
}

/** An ELF file that runs (an executable or a PIE), not a plain shared library. */
function isProgram(e: Entry): boolean {
  return !!e.elf && (e.elf.type === 2 || e.elf.interp !== null || e.elf.soname === null);
}

/** The paths a text file lists, one absolute path a line (`/etc/shells` format). */
function listedPaths(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l.startsWith('/'));
}

/**
 * The shells of an image's own layer `entries` (parents: the layers below, oldest first).
 * @example await findShells(entries, parents, packages, blobs) // [{ path: 'usr/libexec/dash', why: '…' }]
 */
export async function findShells(
  entries: readonly Entry[],
  parents: readonly (readonly Entry[])[],
  packages: readonly PackageInfo[],
  blobs: BlobStore,
): Promise<ShellFound[]> {
  const fs = new Layers([...parents, entries]);
  const own = new Set(entries.map((e) => e.path));
  const found = new Map<string, string>();
  const add = (path: string, why: string) => {
    if (own.has(path) && !found.has(path)) found.set(path, why);
  };

  // (1) Paths registered as shells: /etc/shells and the packages' shells.d entries.
  const lists: { file: string; text: string }[] = [];
  for (const e of fs.entries()) {
    if (e.type !== 'file' || !e.sha256) continue;
    if (e.path === 'etc/shells' || e.path.startsWith('usr/share/debianutils/shells.d/')) {
      lists.push({ file: e.path, text: (await blobs.read(e.sha256)).toString('utf8') });
    }
  }
  for (const { file, text } of lists.sort((a, b) => a.file.localeCompare(b.file))) {
    for (const p of listedPaths(text)) {
      const r = fs.resolve(p);
      if (r && r.entry.type === 'file') add(r.entry.path, `listed in /${file} as ${p}`);
      if (own.has(p.slice(1))) add(p.slice(1), `listed in /${file}`);
    }
  }

  // (2) and (3): what each program of this layer is.
  const shellPackages = new Set(packages.filter((p) => p.section === 'shells' || p.name.startsWith('app-shells/')).map((p) => p.name));
  for (const e of entries) {
    if (e.type !== 'file' || !e.sha256 || !isProgram(e) || found.has(e.path)) continue;
    const pkg = e.origin?.replace(/[:=].*$/, '');
    if (pkg && (shellPackages.has(pkg) || pkg.startsWith('app-shells/'))) {
      add(e.path, `a program of the shell package ${pkg}`);
      continue;
    }
    const id = identityOf(blobs, e.sha256);
    if (id) add(e.path, `an ELF file that is ${id}`);
  }
  return [...found].map(([path, why]) => ({ path, why })).sort((a, b) => a.path.localeCompare(b.path));
}

/** What the built-in policy checks need of a build. */
export interface RulesInput {
  readonly def: ImageDef;
  readonly parents: readonly (readonly Entry[])[];
  /** This image's own layer, final. */
  readonly entries: readonly Entry[];
  /** Every account of the image (parents', declared, created by packages), oldest first. */
  readonly accounts: readonly UserAccount[];
  readonly packages: readonly PackageInfo[];
  readonly blobs: BlobStore;
}

/**
 * Throws a BuildError naming the image when a built-in policy of `def.rules` fails
 * on what the build made. Runs before the link check, so a shell is named as one.
 */
export async function checkRules(input: RulesInput): Promise<void> {
  const { def } = input;
  const rules = def.rules ?? [];
  const problems: string[] = [];
  if (rules.includes('nonRoot') && runsSomething(def.config)) {
    const user = def.config.user;
    const r = resolveUser(user, input.accounts);
    const problem = r && nonRootProblem(user, r);
    if (problem) problems.push(`policy nonRoot: ${problem}, as the built image resolves it`);
  }
  if (rules.includes('noShell')) {
    for (const s of await findShells(input.entries, input.parents, input.packages, input.blobs))
      problems.push(`policy noShell: /${s.path} is a shell: ${s.why}`);
  }
  if (problems.length)
    throw new BuildError(def.id, problems.length === 1 ? problems[0] : `policies failed:\n  ${problems.join('\n  ')}`, { phase: 'check' });
}
