import { isRootUser, runsSomething, type ImageDef } from '../contract/assembly';
import type { Policy } from './app';

// A name, then the end or what may follow a name in an atom or apt spec: a version
// (`-5.2`, `=5.2-1`), slot or arch (`:0`, `:amd64`), release (`/bookworm`), USE deps.
// Not any `-`: `bash-completion` is no shell.
const SHELL_PACKAGES = /^[<>=~!]*(?:(?:app-shells|sys-apps)\/(?:bash|dash|zsh|mksh|tcsh|busybox)|(?:bash|dash|zsh|mksh|tcsh|busybox|busybox-static|ash|ksh|ksh93u\+m|yash|fish))(?:$|-\d|[:=/\[])/;
const SHELL_PATHS = ['bin/sh', 'bin/bash', 'bin/dash', 'bin/ash', 'bin/zsh', 'bin/busybox', 'usr/bin/sh', 'usr/bin/bash', 'usr/bin/dash', 'usr/bin/zsh', 'usr/bin/busybox'];

/**
 * Every image that runs something runs as a user other than root, even with
 * `.allowRoot()`.
 * @example app(web).policy(nonRoot())
 */
export function nonRoot(): Policy {
  return {
    name: 'nonRoot',
    check(img: ImageDef) {
      return runsSomething(img.config) && isRootUser(img.config.user) ? ['runs as root'] : [];
    },
  };
}

/**
 * No image contains a shell: no shell package is installed, no shell file is
 * added, and after the build the runtime checks the rootfs for one.
 * @example app(web).policy(noShell())
 */
export function noShell(): Policy {
  return {
    name: 'noShell',
    forbid: SHELL_PATHS,
    check(img: ImageDef) {
      const out: string[] = [];
      for (const p of img.packages) if (SHELL_PACKAGES.test(p)) out.push(`installs the shell package ${p}`);
      for (const f of img.files) if (SHELL_PATHS.includes(f.path.replace(/^\//, ''))) out.push(`adds the shell ${f.path}`);
      return out;
    },
  };
}
