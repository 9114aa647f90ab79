/**
 * The non-root, read-only-friendly nginx of the scratch-nginx example, from
 * Debian's packages instead of Portage: nginx-light from bookworm, run as nobody
 * on port 8080, with no shell in the image (checked by the noShell policy).
 */
import { app, debian, image, noShell, nonRoot } from 'imgsdk';

export const bookworm = debian.builder('examples/bookworm', { suite: 'bookworm' });

export const nginx = image('examples/debian-nginx')
  .builder(bookworm)
  // the smallest nginx flavour in bookworm
  .packages('nginx-light')
  // listen 8080, pid and temp paths in /tmp, logs to stderr/stdout
  .file('/etc/nginx/nginx.conf', { src: 'nginx.conf' })
  .file('/usr/share/nginx/html/index.html', { src: 'index.html' })
  // Writable scratch space; mount a tmpfs here when running with --read-only.
  .file('/tmp', { dir: true }, { mode: 0o1777 })
  .user('nobody')
  .expose(8080)
  // -e stderr: nginx opens its compiled-in error log before reading nginx.conf.
  .entrypoint('/usr/sbin/nginx', '-e', 'stderr', '-g', 'daemon off;');

export default app(nginx).policy(noShell(), nonRoot());
