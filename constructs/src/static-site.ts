import type { Image } from 'imgsdk';
import { addTree, APP_PORT, appBase, type AppProps } from './common';

/** A directory of static files served by nginx. */
export interface StaticSiteProps extends AppProps {
  /** The site's directory (index.html at its top), relative to the file that calls `staticSite`. */
  readonly dir: string;
  /** Where the files go in the image. @default '/srv/www' */
  readonly dest?: string;
}

/**
 * nginx.conf for a non-root nginx on a read-only root: every writable path in /tmp,
 * logs to stderr and stdout, no `user` line (only root could switch users).
 */
export function nginxConf(root: string, port: number): string {
  return `# @imgsdk/apps staticSite: non-root nginx, writable paths in /tmp, logs to stderr/stdout.
worker_processes  1;
error_log  stderr warn;
pid        /tmp/nginx.pid;
daemon     off;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;
    access_log    /dev/stdout;
    sendfile      on;
    server_tokens off;

    client_body_temp_path /tmp/client_temp;
    proxy_temp_path       /tmp/proxy_temp;
    fastcgi_temp_path     /tmp/fastcgi_temp;
    uwsgi_temp_path       /tmp/uwsgi_temp;
    scgi_temp_path        /tmp/scgi_temp;

    server {
        listen       ${port};
        root         ${root};
        index        index.html;
    }
}
`;
}

/**
 * A static site served by Debian's `nginx-light` on port 8080 as a non-root account,
 * its files as one layer. nginx handles SIGTERM itself, so there is no init.
 * @example export const site = staticSite('acme/site', { dir: 'public' });
 */
export function staticSite(id: string, props: StaticSiteProps): Image {
  const dest = props.dest ?? '/srv/www';
  const port = props.port ?? APP_PORT;
  return (
    addTree(appBase(id, props, ['nginx-light']), dest, props.dir)
      // Its writable paths are in /tmp, which every image on scratch has (mount a tmpfs there with --read-only).
      .file('/etc/nginx/nginx.conf', nginxConf(dest, port))
      // -e stderr: nginx opens its compiled-in error log before reading nginx.conf.
      .entrypoint('/usr/sbin/nginx', '-e', 'stderr')
  );
}
