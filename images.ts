/**
 * The repository's own images: a small real set a newcomer can deploy on any
 * machine with Docker and mmdebstrap (`npx imgsdk deploy`).
 *
 * - imgsdk/base: the accounts and the empty directories every image expects.
 * - imgsdk/nginx: Debian's nginx-light, non-root on port 8080, no shell. Nothing
 *   is listed by hand: the package closure is installed in the builder, library
 *   and base packages are slimmed to what nginx loads, and the link check proves
 *   every library is there before the image is loaded.
 */
import { app, debian, image, noShell, nonRoot } from 'imgsdk';

export const bookworm = debian.builder('imgsdk/bookworm', { suite: 'bookworm' });

export const base = image('imgsdk/base')
  .builder(bookworm)
  .account({ user: 'web', uid: 10001, home: '/nonexistent' });

export const nginx = image('imgsdk/nginx')
  .from(base)
  .packages('nginx-light')
  .file('/etc/nginx/nginx.conf', { src: 'config/nginx.conf' })
  .user('web')
  .expose(8080)
  .entrypoint('/usr/sbin/nginx', '-e', 'stderr', '-g', 'daemon off;')
  .label('org.opencontainers.image.title', 'nginx-light on scratch');

export default app(base, nginx).policy(nonRoot(), noShell());
