/**
 * The platform check of a layer: every program and shared library an image of
 * `linux/arm64` carries must be an aarch64 ELF file (and so on): a file of another
 * machine would never run there, and usually means the build ran in the wrong
 * builder. The link check then searches the platform's loader and library
 * directories, which it derives from each file's machine.
 */
import { BuildError } from '../../contract/errors';
import { platformInfo, platformOfMachine, type PlatformInfo } from '../../contract/platform';
import type { Entry } from '../store/entry';

const ET_EXEC = 2;
const ET_DYN = 3;
/** eBPF objects (ET_REL) and firmware blobs are not run by the CPU: left alone. */
const NOT_RUN = new Set([247]);

/** A program or library of another machine than the platform's. */
export interface WrongMachine {
  readonly path: string;
  readonly machine: number;
}

/**
 * The executables and shared objects (ET_EXEC, ET_DYN) in `entries` whose ELF
 * machine or class is not `platform`'s, in path order.
 * @example wrongMachine(entries, 'linux/arm64') // [{ path: 'usr/bin/jq', machine: 62 }]
 */
export function wrongMachine(entries: readonly Entry[], platform: string): WrongMachine[] {
  const p = platformInfo(platform);
  return entries
    .filter(
      (e) =>
        e.type === 'file' &&
        e.elf &&
        (e.elf.type === ET_EXEC || e.elf.type === ET_DYN) &&
        !NOT_RUN.has(e.elf.machine) &&
        (e.elf.machine !== p.elfMachine || e.elf.class !== p.elfClass),
    )
    .map((e) => ({ path: e.path, machine: e.elf!.machine }));
}

/** `x86-64 (e_machine 62)`, `aarch64 (e_machine 183)`. */
function machineName(machine: number): string {
  const known: PlatformInfo | null = platformOfMachine(machine);
  return `${known ? known.uname.replace('x86_64', 'x86-64') : 'an unknown machine'} (e_machine ${machine})`;
}

/**
 * Throws a BuildError naming the image, the platform and the first files of
 * another machine, when the layer has any.
 */
export function checkMachine(id: string, entries: readonly Entry[], platform: string): void {
  const wrong = wrongMachine(entries, platform);
  if (!wrong.length) return;
  const p = platformInfo(platform);
  const shown = wrong.slice(0, 10).map((w) => `/${w.path} is ${machineName(w.machine)}`);
  throw new BuildError(
    id,
    `built for ${platform}, whose programs are ${machineName(p.elfMachine)} ELF files, but ${wrong.length} file${wrong.length === 1 ? ' is' : 's are'} not:\n  ${shown.join('\n  ')}${wrong.length > 10 ? `\n  … and ${wrong.length - 10} more` : ''}\n(was phase 1 run in the builder of another platform?)`,
    { phase: 'check' },
  );
}
