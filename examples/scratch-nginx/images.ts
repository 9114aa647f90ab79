/**
 * The "nginx from scratch" of the blog post "Using Docker images from scratch"
 * (seed 003), built from Gentoo's www-servers/nginx instead of copying files out
 * of nginx:alpine: only nginx, its libraries and its config, run as a non-root
 * user, with every writable path in /tmp so the root fs can be mounted read-only.
 */
import { gentoo, image } from 'imgsdk';

// The post's nginx is Alpine's, linked against musl ("/lib/ld-musl-x86_64.so.1").
export const bobMusl = gentoo.builder('kubler/bob-musl', { stage3: 'amd64-musl-hardened' });

export const nginx = image('zawadidone/nginx')
  .builder(bobMusl)
  .packages('www-servers/nginx')
  // The ldd list the post COPYs by hand (ld-musl, libssl, libcrypto, libz, libpcre2)
  // is the ELF closure of /usr/sbin/nginx; the other COPY lines are the kept paths.
  .closure({
    roots: ['/usr/sbin/nginx'],
    keep: ['/etc/nginx/**', '/usr/share/nginx/html/**'],
  })
  // COPY nginx.conf /etc/nginx/ and COPY default.conf /etc/nginx/conf.d/
  .file('/etc/nginx/nginx.conf', { src: 'nginx.conf' })
  .file('/etc/nginx/conf.d/default.conf', { src: 'default.conf' })
  // copy --from=base /usr/share/nginx/html/index.html
  .file('/usr/share/nginx/html/index.html', { src: 'index.html' })
  // Writable scratch space; mount a tmpfs here when running with --read-only.
  .file('/tmp', { dir: true }, { mode: 0o1777 })
  // COPY --from=base /etc/passwd + USER nginx (101 is the nginx uid of nginx:alpine)
  .account({ user: 'nginx', uid: 101, home: '/var/empty' })
  .user('nginx')
  // default.conf: listen 8080 -- a port a non-root user may bind
  .expose(8080)
  // CMD ["/usr/sbin/nginx", "-g", "daemon off;"]; -e stderr so nginx does not try to open
  // its compiled-in error log before it has read nginx.conf.
  .cmd('/usr/sbin/nginx', '-e', 'stderr', '-g', 'daemon off;');
