/**
 * Staves' README example (seed 002): staves/bash, with the README's
 * customisations -- `-nls`, the global [env] and a per-package env -- and a musl
 * variant from its "How to build images based on MUSL libc" section.
 */
import { gentoo, image, type Builder, type Image } from 'imgsdk';

// staves build --builder gentoo/stage3-amd64-hardened-nomultilib
export const stage3 = gentoo.builder('staves/stage3-amd64-hardened-nomultilib', {
  stage3: 'amd64-hardened-nomultilib',
  from: 'gentoo/stage3-amd64-hardened-nomultilib',
});

// TARGET=stage3-amd64-musl-hardened ./build.sh -> "gentoo/stage3:amd64-musl-hardened"
export const stage3Musl = gentoo.builder('staves/stage3-amd64-musl-hardened', {
  stage3: 'amd64-musl-hardened',
  from: 'gentoo/stage3:amd64-musl-hardened',
});

/** The staves.toml of the README, as a transform so both builders share it. */
export const stavesBash = (img: Image): Image =>
  img
    // packages = ['app-shells/bash']; Staves always appends virtual/libc
    .packages('app-shells/bash', 'virtual/libc')
    // ['app-shells/bash'] use = ['-nls']
    .use('app-shells/bash', '-nls')
    // [env] CFLAGS="${CFLAGS} -O3" / CPU_FLAGS_X86="${CPU_FLAGS_X86} avx" -> make.conf
    .makeConf({ CFLAGS: '${CFLAGS} -O3', CPU_FLAGS_X86: '${CPU_FLAGS_X86} avx' })
    // [env.nocache] FEATURES="-buildpkg" + env = ['nocache']: the README's per-package
    // env, applied to the package this image builds (-> env/<name> + package.env)
    .packageEnv('app-shells/bash', { FEATURES: '-buildpkg' })
    // [locale] defaults to "C UTF-8"
    .locale('C.UTF-8')
    // Staves copies libgcc_s into every image
    .runtimeLibs('gcc')
    // command = ['/bin/bash', '-c']
    .entrypoint('/bin/bash', '-c')
    // `docker run --rm staves/bash "echo Hello World!"` needs no root
    .user('nobody');

const bash = (id: string, b: Builder): Image => image(id).builder(b).with(stavesBash);

// name = 'staves/bash'
export const glibcBash = bash('staves/bash', stage3);
// "When using a musl libc toolchain, the resulting image is 9.29 MB"
export const muslBash = bash('staves/bash-musl', stage3Musl);
