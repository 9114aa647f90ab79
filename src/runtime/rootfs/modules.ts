import type { Entry } from '../store/entry';
import { type LinkCheckOptions, Loader, type LoadEvent } from './linkcheck';
import { Layers } from './resolve';

/**
 * Loadable modules that cannot load. Packages ship plugins whose libraries are only
 * Recommended (iproute2's `tc/q_atm.so` needs libatm, which nothing installs), so a
 * full Debian install has the same unloadable file. What runs is checked hard (the
 * link check): executables, everything they link, and declared `.needs()`. A shared
 * object that nothing of that links is a module, loaded with dlopen if at all; when
 * its own libraries are missing it could never load, so it is dropped and reported.
 */

/** A module left out, and why. */
export interface DroppedModule {
  readonly path: string;
  readonly why: string;
}

/**
 * Drops the shared objects of the last layer that no executable (nor a `.needs()`
 * soname) loads and that need a library no file of the image has (by path or by
 * soname: Java's libjava.so needs libjvm.so, which the launcher loaded first from
 * lib/server), plus symlinks to them.
 *
 * @example
 * const { entries, dropped } = dropUnloadableModules([glibc, iproute2], { libc: 'glibc' });
 * dropped[0]; // { path: 'usr/lib/x86_64-linux-gnu/tc/q_atm.so', why: 'needs libatm.so.1, which no layer provides' }
 */
export function dropUnloadableModules(
  layers: readonly (readonly Entry[])[],
  opts: LinkCheckOptions,
): { entries: Entry[]; dropped: DroppedModule[] } {
  const last = layers[layers.length - 1] ?? [];
  const fs = new Layers(layers);
  const loader = new Loader(fs, opts);
  const isObject = (e: Entry) => e.type === 'file' && !!e.elf && (e.elf.type === 2 || e.elf.type === 3);

  // Everything an executable or a declared need loads runs, and stays under the hard check.
  const reached = new Set<string>();
  const mark = (ev: LoadEvent) => {
    if (ev.kind === 'needed' && ev.result.ok) reached.add(ev.result.target.path);
  };
  const seen = new Set<string>();
  for (const e of fs.entries()) if (isObject(e) && e.elf!.interp) loader.walk({ path: e.path, elf: e.elf! }, mark, seen);
  for (const need of opts.needs ?? []) {
    for (const e of fs.entries())
      if (isObject(e) && (e.elf!.soname === need || e.path.endsWith('/' + need))) reached.add(fs.resolve(e.path)?.path ?? e.path);
  }

  // A library the process loaded before (libjvm.so, dlopened by path) satisfies a
  // module's DT_NEEDED by its soname: only names nothing in the image has are missing.
  const sonames = new Set<string>();
  for (const e of fs.entries()) if (isObject(e)) sonames.add(e.elf!.soname ?? e.path.slice(e.path.lastIndexOf('/') + 1));
  const dropped: DroppedModule[] = [];
  for (const e of last) {
    if (!isObject(e) || e.elf!.interp || reached.has(e.path)) continue;
    let why: string | null = null;
    loader.walk({ path: e.path, elf: e.elf! }, (ev) => {
      if (why !== null || ev.kind !== 'needed' || ev.result.ok || sonames.has(ev.name)) return;
      why =
        ev.from === e.path ? `needs ${ev.name}, which no layer provides` : `needs ${ev.name} (through ${ev.from}), which no layer provides`;
    });
    if (why !== null) dropped.push({ path: e.path, why });
  }
  if (!dropped.length) return { entries: [...last], dropped };

  const gone = new Set(dropped.map((d) => d.path));
  const kept = last.filter((e) => !gone.has(e.path) && !(e.type === 'symlink' && gone.has(fs.resolve(e.path)?.path ?? '')));
  return { entries: kept, dropped };
}
