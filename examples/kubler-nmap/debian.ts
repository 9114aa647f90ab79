/**
 * The Debian twin of Kubler's nmap walkthrough (seed 000): the same two images,
 * kubler/glibc and mynamespace/nmap, from Debian bookworm's packages instead of
 * Portage, so the example builds end to end where only Debian's archive answers.
 */
import { debian, image } from 'imgsdk';

/** One builder for every Debian twin of the examples (the same id and options: bootstrapped once). */
export const bookworm = debian.builder('examples/bookworm', { suite: 'bookworm' });

export const glibc = image('kubler/glibc-debian')
  .builder(bookworm)
  // build.sh: _packages="sys-libs/glibc sys-libs/libxcrypt" -> libc6 (libcrypt1 comes as its dependency)
  .packages('libc6')
  // configure_rootfs_build: /etc/timezone is UTC; with no /etc/localtime glibc uses UTC too,
  // so the zoneinfo copy (tzdata is not in a minbase builder) is left out.
  .file('/etc/timezone', 'UTC\n')
  // finish_rootfs_build: "purge iconv" -- Debian keeps gconv modules under the multiarch dir
  .purge('/usr/lib/x86_64-linux-gnu/gconv/*')
  // Dockerfile.template: ENV LANG en_US.utf8 -- en_US needs Debian's `locales` and locale-gen;
  // C.UTF-8 ships with glibc.
  .env('LANG', 'C.UTF-8');

export const nmap = image('mynamespace/nmap-debian')
  .from(glibc)
  // build.sh: _packages="net-analyzer/nmap"; copy_gcc_libs is not needed: apt installs
  // libstdc++6 and libgcc-s1 as nmap's dependencies.
  .packages('nmap')
  .entrypoint('/usr/bin/nmap')
  .volume('/data')
  // Unprivileged: connect scans (-sT) work; raw-socket scans need root/NET_RAW.
  .account({ user: 'nmap', uid: 1000 })
  .user('nmap');
