/**
 * The program an image starts must be there: its entrypoint (or its command, when
 * it has no entrypoint) names a regular executable file of the image (symlinks
 * followed), whose ELF loader or `#!` interpreter is there too, `#!/usr/bin/env X`
 * included (X looked up on the image's PATH). Otherwise the image would be built and
 * tagged and fail only at `docker run` (`exec: "/usr/bin/jqq": stat …: no such file`).
 */
import { posix } from 'node:path';
import type { ImageDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import type { Entry } from '../store/entry';
import { Layers } from './resolve';

/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// The kernel follows at most this many interpreters of interpreters (BINPRM_MAX_RECURSION).
const MAX_INTERPRETERS = 4;

/**
 * Checks the program `def.config` starts over `layers` (the parents' and this
 * image's, oldest first); throws a BuildError naming the image and the path.
 * `head` gives the first bytes of a file (for its `#!` line).
 * @example await checkEntrypoint(def, [...parents, entries], (e) => readHead(blobs.path(e.sha256!)))
 */
export async function checkEntrypoint(
  def: ImageDef,
  layers: readonly (readonly Entry[])[],
  head: (e: Entry) => Promise<Buffer>,
): Promise<void> {
  const { entrypoint, cmd } = def.config;
  const argv = entrypoint?.length ? entrypoint : cmd;
  if (!argv?.length) return;
  const what = entrypoint?.length ? 'entrypoint' : 'cmd';
  const fs = new Layers(layers);
  const path = (def.config.env.PATH ?? DEFAULT_PATH).split(':').filter((d) => d.startsWith('/'));
  const fail = (m: string): never => {
    throw new BuildError(def.id, `${what} ${JSON.stringify(argv[0])}: ${m}`, { phase: 'check' });
  };

  const program = find(fs, argv[0], path, def.config.workdir ?? '/');
  if ('problem' in program) return fail(program.problem);
  let at = program;
  for (let depth = 0; ; depth++) {
    const e = at.entry;
    if (e.elf) {
      if (e.elf.interp && fs.lookup(e.elf.interp)?.type !== 'file')
        fail(`${at.path} needs the loader ${e.elf.interp}, which the image does not have`);
      return;
    }
    const line = await head(e);
    if (line[0] !== 0x23 || line[1] !== 0x21) return fail(`${at.path} is neither an ELF program nor a script starting with #!`);
    if (depth === MAX_INTERPRETERS) return fail(`${at.path}: more than ${MAX_INTERPRETERS} interpreters in a row`);
    const end = line.indexOf(0x0a);
    const words = line
      .toString('latin1', 2, end < 0 ? line.length : end)
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (!words.length) return fail(`${at.path} has an empty #! line`);
    const interp = find(fs, words[0], [], '/');
    if ('problem' in interp) return fail(`${at.path} is run by ${words[0]}: ${interp.problem}`);
    if (/(^|\/)env$/.test(words[0])) {
      // env runs the first word that is neither an option nor an assignment, found on PATH.
      const name = words.slice(1).find((w) => !w.startsWith('-') && !w.includes('='));
      if (name) {
        const target = find(fs, name, path, '/');
        if ('problem' in target) return fail(`${at.path} is run by ${words.join(' ')}: ${target.problem}`);
        at = target;
        continue;
      }
    }
    at = interp;
  }
}

type Found = { path: string; entry: Entry } | { problem: string };

/** A program by name: a path (relative to `cwd`), or a bare name looked up on `path`. */
function find(fs: Layers, name: string, path: readonly string[], cwd: string): Found {
  if (!name.includes('/')) {
    for (const dir of path) {
      const p = posix.join(dir, name);
      const e = fs.lookup(p);
      if (e?.type === 'file' && e.mode & 0o111) return { path: p, entry: e };
    }
    return { problem: `"${name}" is not on the image's PATH (${path.join(':') || 'empty'})` };
  }
  const p = posix.resolve(cwd, name);
  const r = fs.resolve(p);
  if (!r) return { problem: `${p} is not in the image${fs.get(p.slice(1))?.type === 'symlink' ? ' (a symlink to nothing)' : ''}` };
  if (r.entry.type !== 'file') return { problem: `${p} is a ${r.entry.type === 'dir' ? 'directory' : r.entry.type}, not a program` };
  if (!(r.entry.mode & 0o111)) return { problem: `${p} is not executable (mode 0${r.entry.mode.toString(8)})` };
  return { path: p, entry: r.entry };
}
