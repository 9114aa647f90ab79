/**
 * The Debian twin of Staves' README example (seed 002): staves/bash from bookworm's
 * `bash` package. The Portage-only parts of the staves.toml (`-nls`, the [env]
 * CFLAGS, the per-package env) have no Debian meaning: Debian's bash is prebuilt.
 */
import { debian, image } from 'imgsdk';

/** One builder for every Debian twin of the examples (the same id and options: bootstrapped once). */
export const bookworm = debian.builder('examples/bookworm', { suite: 'bookworm' });

export const bash = image('staves/bash-debian')
  .builder(bookworm)
  // packages = ['app-shells/bash'] (+ virtual/libc, which apt adds as libc6 by itself)
  .packages('bash')
  // [locale] defaults to "C UTF-8"
  .locale('C.UTF-8')
  // command = ['/bin/bash', '-c']
  .entrypoint('/bin/bash', '-c')
  // `docker run --rm staves/bash-debian 'echo Hello World!'` needs no root
  .user('nobody');
