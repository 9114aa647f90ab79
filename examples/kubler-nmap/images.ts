/**
 * Kubler's nmap walkthrough (seed 000): `kubler new image mynamespace/nmap` with
 * parent kubler/glibc, built in kubler/bob. The glibc image follows kubler-images'
 * `images/glibc` (build.sh, Dockerfile.template).
 */
import { gentoo, image } from 'imgsdk';

// kubler-images builder/bob/build.conf: STAGE3_BASE='stage3-amd64-hardened+nomultilib',
// BOB_CFLAGS="-mtune=generic -O2 -pipe", BOB_CXXFLAGS="${BOB_CFLAGS}".
export const bob = gentoo.builder('kubler/bob', {
  stage3: 'amd64-hardened-nomultilib',
  makeConf: { CFLAGS: '-mtune=generic -O2 -pipe', CXXFLAGS: '-mtune=generic -O2 -pipe' },
});

// In kubler-images glibc's parent is kubler/busybox, built in bob-musl. imgsdk
// refuses a glibc child of a musl-built parent, so glibc starts from scratch here.
export const glibc = image('kubler/glibc')
  .builder(bob)
  // build.sh: _packages="sys-libs/glibc sys-libs/libxcrypt" (the article's 2017 glibc had no libxcrypt yet)
  .packages('sys-libs/glibc', 'sys-libs/libxcrypt')
  // build.sh: _glibc_locales=("C.UTF8 UTF-8" "en_US.UTF-8 UTF-8"); locale-gen
  .locale('C.UTF-8', 'en_US.UTF-8')
  // configure_rootfs_build: "fake portage install"
  .provide('sys-apps/portage')
  // configure_rootfs_build: cp /etc/timezone, cp /usr/share/zoneinfo/${_timezone} .../etc/localtime (UTC)
  .file('/etc/timezone', 'UTC\n')
  .configureRootfs('mkdir -p "$ROOT/etc" && cp /usr/share/zoneinfo/UTC "$ROOT/etc/localtime"')
  // finish_rootfs_build: "purge iconv" (rm -fr ${_EMERGE_ROOT}/usr/${_LIB}/gconv/*)
  .purge('/usr/lib64/gconv/*')
  // Dockerfile.template: ENV LANG en_US.utf8
  .env('LANG', 'en_US.utf8')
  // Dockerfile.template: RUN ldconfig -- the cache is kept instead of generated in the image
  .keep('ldcache');

export const nmap = image('mynamespace/nmap')
  // "Parent Image (scratch): kubler/glibc"
  .from(glibc)
  // build.sh: _packages="net-analyzer/nmap"
  .packages('net-analyzer/nmap')
  // finish_rootfs_build: copy_gcc_libs ("errors regarding missing libstdc++")
  .runtimeLibs('gcc')
  // Dockerfile.template: ENTRYPOINT ["/usr/bin/nmap"]
  .entrypoint('/usr/bin/nmap')
  // Dockerfile.template: VOLUME nmap-log:/data ("a place to persist the nmap logs")
  .volume('/data')
  // The article's image runs as root, which it criticises in the official nginx image;
  // here nmap gets its own user (unprivileged scans; raw-socket scans need root/NET_RAW).
  .account({ user: 'nmap', uid: 1000 })
  .user('nmap');
