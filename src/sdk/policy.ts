import { nonRootProblem, resolveUser, runsSomething, type AccountDef, type ImageDef } from '../contract/assembly';
import type { Policy, PolicyContext } from './app';

// A name, then the end or what may follow a name in an atom or apt spec: a version
// (`-5.2`, `=5.2-1`), slot or arch (`:0`, `:amd64`), release (`/bookworm`), USE deps.
// Not any `-`: `bash-completion` is no shell.
const SHELL_PACKAGES =
  /^[<>=~!]*(?:(?:app-shells|sys-apps)\/(?:bash|dash|zsh|mksh|tcsh|busybox)|(?:bash|dash|zsh|mksh|tcsh|busybox|busybox-static|ash|ksh|ksh93u\+m|yash|fish))(?:$|-\d|[:=/\[])/;
const SHELL_PATHS = [
  'bin/sh',
  'bin/bash',
  'bin/dash',
  'bin/ash',
  'bin/zsh',
  'bin/busybox',
  'usr/bin/sh',
  'usr/bin/bash',
  'usr/bin/dash',
  'usr/bin/zsh',
  'usr/bin/busybox',
];

/**
 * Every image that runs something runs as a user other than root, even with
 * `.allowRoot()`: its user, resolved to a uid and gid against the accounts of the
 * image and its parents, is neither uid 0 nor gid 0 (the root group owns and may
 * write what root does). A name only a package creates is resolved at build, and the
 * build fails, naming the image, when the package gave it uid or gid 0.
 * @example app(web).policy(nonRoot())
 */
export function nonRoot(): Policy {
  return {
    name: 'nonRoot',
    rules: ['nonRoot'],
    check(img: ImageDef, ctx: PolicyContext) {
      if (!runsSomething(img.config)) return [];
      const user = img.config.user;
      const r = resolveUser(user, accountsWithParents(img, ctx));
      // null: a name no declared account has; the build resolves it (a package's account).
      const problem = r && nonRootProblem(user, r);
      return problem ? [problem] : [];
    },
  };
}

/** The accounts of an image and its parents in the app, oldest first. */
function accountsWithParents(img: ImageDef, ctx: PolicyContext): AccountDef[] {
  const chain: ImageDef[] = [];
  for (let d: ImageDef | undefined = img; d && !chain.includes(d); d = d.parent ? ctx.images.get(d.parent) : undefined) chain.unshift(d);
  return chain.flatMap((d) => d.accounts);
}

/**
 * No image contains a shell. At synth: no shell package is asked for, no `.file()`
 * at a shell's path. At build, by what each file of the image's layer *is*, whatever
 * its name and source (packages and what they pull in, hooks, `.file()`, `.copy()`,
 * directory sources): a path the image's /etc/shells or a package's shell
 * registration names, a program of a shell package, or an ELF file carrying a
 * shell's identity (a shell grammar's reserved words, a known shell's banner). The
 * build fails naming the image, the path and why it is a shell, before the link check.
 * @example app(web).policy(noShell())
 */
export function noShell(): Policy {
  return {
    name: 'noShell',
    forbid: SHELL_PATHS,
    rules: ['noShell'],
    check(img: ImageDef) {
      const out: string[] = [];
      for (const p of img.packages) if (SHELL_PACKAGES.test(p)) out.push(`installs the shell package ${p}`);
      for (const f of img.files) if (SHELL_PATHS.includes(f.path.replace(/^\//, ''))) out.push(`adds the shell ${f.path}`);
      return out;
    },
  };
}
