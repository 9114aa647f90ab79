/**
 * The static nmap of the Kubler article (seed 000, "Building static nmap binaries
 * with Kubler"): mynamespace/nmap-musl-static on kubler/libressl-musl, built in
 * kubler/bob-musl with the berne overlay's nmap ebuild, which adds a `static` flag.
 */
import { gentoo, image, type Image } from 'imgsdk';

// kubler/bob-musl: "required stage3: ... stage3-amd64-musl-hardened"
export const bobMusl = gentoo.builder('kubler/bob-musl', { stage3: 'amd64-musl-hardened' });

/**
 * LibreSSL instead of OpenSSL, as kubler/libressl-musl sets it up (berney's
 * build.sh: "Stolen from kubler/libressl-musl"). Applied to every image of the
 * chain, because each image's /etc/portage is rendered from its own definition.
 */
export const libressl = (img: Image): Image =>
  img
    // echo "dev-libs/openssl" >> /etc/portage/package.mask/openssl
    .mask('dev-libs/openssl')
    .unmask('dev-libs/libressl')
    // update_use '+libressl' (global USE)
    .makeConf({ USE: 'libressl' });

// kubler-images images/musl/build.sh
export const musl = image('kubler/musl')
  .builder(bobMusl)
  .packages('sys-libs/musl')
  // "fake portage install"
  .provide('sys-apps/portage')
  // "some apps expect musl libc in /lib": ln -sr /emerge-root/usr/lib /emerge-root/lib
  .file('/lib', { symlink: 'usr/lib' });

// Parent Image (scratch): kubler/libressl-musl -- its PACKAGES.md lists libressl and ca-certificates.
export const libresslMusl = image('kubler/libressl-musl')
  .from(musl)
  .packages('dev-libs/libressl', 'app-misc/ca-certificates')
  .with(libressl);

export const nmapMuslStatic = image('mynamespace/nmap-musl-static')
  .from(libresslMusl)
  .with(libressl)
  // _packages="net-analyzer/nmap"
  .packages('net-analyzer/nmap')
  // configure_bob: add_overlay berne https://github.com/berney/gentoo-overlay.git
  .overlay('berne', { uri: 'https://github.com/berney/gentoo-overlay.git' })
  // "add update_keywords '=net-analyzer/nmap-7.60' '+~amd64' after the add_overlay line"
  // As in Kubler, this makes 7.60 visible without choosing it, and synth warns so;
  // .packages('=net-analyzer/nmap-7.60') instead of 'net-analyzer/nmap' would pin it.
  .keywords('=net-analyzer/nmap-7.60', '~amd64')
  // configure_bob: update_use 'net-analyzer/nmap' '+ipv6' '+libressl' ... '+static'
  .use(
    'net-analyzer/nmap',
    '+ipv6',
    '+libressl',
    '+ncat',
    '-ndiff',
    '-nls',
    '-nmap-update',
    '+nping',
    '+nse',
    '+ssl',
    '-system-lua',
    '-zenmap',
    '+static',
  )
  // "# targeted": the static link needs the libraries' .a files
  .use('net-libs/libpcap', '+static-libs')
  .use('dev-libs/libpcre', '+static-libs')
  .use('dev-lang/python', '+sqlite')
  .use('dev-libs/libressl', '+static-libs')
  // "Need to unprovide libressl so that it will be rebuilt" (with static-libs, in the builder)
  .unprovide('dev-libs/libressl')
  // configure_rootfs_build: provide_package ... -- linked in statically, so kept out of the root.
  // Unversioned like Kubler's: the builder adds the installed version to package.provided.
  .provide(
    'net-libs/libpcap',
    'sys-libs/zlib',
    'sys-libs/ncurses',
    'sys-libs/readline',
    'dev-libs/libpcre',
    'dev-libs/liblinear',
    'dev-libs/libressl',
  )
  // finish_rootfs_build: "Rice Rice Baby" rm -rf ${_EMERGE_ROOT}/{etc,tmp,var}
  .purge('/etc', '/tmp', '/var')
  // Dockerfile.template: ENTRYPOINT /usr/bin/nmap, VOLUME nmap-log:/data
  .entrypoint('/usr/bin/nmap')
  .volume('/data')
  // The article runs it as root. A numeric uid, since /etc (and any passwd) is removed above;
  // unprivileged scans only (raw-socket scans need root or NET_RAW).
  .user('65534:65534'); // a bare uid with no /etc/passwd runs with gid 0, the root group
