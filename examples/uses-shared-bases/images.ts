/**
 * An app that uses the shared construct library by its package name, the way a
 * team would after `npm install @imgsdk-examples/bases`: the library's base image
 * as parent, its transforms through `.with()`.
 */
import { image } from 'imgsdk';
import { debianBase, hardened, nonRootService, withTimezone } from '@imgsdk-examples/bases';

export const redis = image('acme/redis')
  .from(debianBase)
  .packages('redis-server')
  .with(nonRootService('redis', 10001))
  .with(withTimezone('Europe/Amsterdam'))
  .with(hardened)
  // Debian's redis.conf daemonizes and logs to /var/log; this one stays in the
  // foreground, logs to stdout and keeps its data in the volume.
  .file('/etc/redis/redis.conf', { src: 'redis.conf' })
  .file('/data', { dir: true }, { owner: 'redis', mode: 0o700 })
  .volume('/data')
  .workdir('/data')
  .expose(6379)
  .entrypoint('/usr/bin/redis-server', '/etc/redis/redis.conf');
