import type { Image } from 'imgsdk';
import { appBase, type AppProps } from './common';

/** A program built on the host (C, C++, Go, Rust), with the Debian packages of its libraries. */
export interface HostBinaryProps extends AppProps {
  /** The executable, relative to the file that calls `hostBinary`. */
  readonly binary: string;
  /**
   * Debian packages holding the libraries it links (`libc6`, `libssl3`): the link check
   * fails the build, naming the file and the library, when one is missing.
   * @default ['libc6']
   */
  readonly libraries?: readonly string[];
  /** Where the program goes. @default '/usr/local/bin/<file name>' */
  readonly dest?: string;
  /** Arguments after the program. @default [] */
  readonly args?: readonly string[];
  /** Run it under tini, for a program that does not handle SIGTERM as PID 1. @default false */
  readonly init?: boolean;
}

/**
 * A host-built executable with the libraries it links, from Debian packages, run by a
 * non-root account. A static binary needs `libraries: []`.
 * @example export const srv = hostBinary('acme/srv', { binary: 'build/srv', libraries: ['libc6', 'libssl3'] });
 */
export function hostBinary(id: string, props: HostBinaryProps): Image {
  const dest = props.dest ?? `/usr/local/bin/${props.binary.split('/').pop()}`;
  const img = appBase(id, props, props.libraries ?? ['libc6'])
    .file(dest, { src: props.binary }, { mode: 0o755 })
    .entrypoint(dest, ...(props.args ?? []));
  return props.init ? img.init() : img;
}
