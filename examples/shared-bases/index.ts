/**
 * @imgsdk-examples/bases: images and transforms a team shares as an npm package,
 * with imgsdk as a peer dependency so that the app's copy of imgsdk is the one used.
 * Were it another copy (a library pinning its own), its images would still be
 * images to the app: imgsdk brands them (`Image.isImage`), instanceof is not needed.
 */
import { debian, image, type Image } from 'imgsdk';

/** Debian bookworm, bootstrapped with mmdebstrap on the host. */
export const bookworm = debian.builder('bases/bookworm', { suite: 'bookworm' });

/**
 * The base of the team's Debian services: CA certificates and time zone data.
 * @example image('acme/app').from(debianBase).packages('lighttpd')
 */
export const debianBase = image('bases/debian-base')
  .builder(bookworm)
  .packages('ca-certificates', 'tzdata')
  .label('org.opencontainers.image.vendor', 'imgsdk examples');

/**
 * Runs the image as its own system user: an account with no login shell whose home
 * is `/nonexistent`, as Debian's adduser --system makes them.
 * @example img.with(nonRootService('www', 8000))
 */
export const nonRootService =
  (user: string, uid: number) =>
  (img: Image): Image =>
    img.account({ user, uid, home: '/nonexistent', shell: '/usr/sbin/nologin' }).user(user);

/**
 * Sets the time zone: `TZ`, /etc/timezone and /etc/localtime (tzdata must be
 * installed, as it is in {@link debianBase}).
 * @example img.with(withTimezone('Europe/Amsterdam'))
 */
export const withTimezone =
  (zone: string) =>
  (img: Image): Image =>
    img
      .env('TZ', zone)
      .file('/etc/timezone', `${zone}\n`)
      .file('/etc/localtime', { symlink: `/usr/share/zoneinfo/${zone}` });

/**
 * Removes what an attacker would use and a service does not: shells, the package
 * manager and its database, setuid helpers.
 * @example img.with(hardened)
 */
export const hardened = (img: Image): Image =>
  img
    .purge('/bin/sh', '/bin/dash', '/bin/bash', '/usr/bin/sh', '/usr/bin/dash', '/usr/bin/bash')
    .purge('/usr/bin/apt*', '/usr/bin/dpkg*', '/var/lib/dpkg', '/var/lib/apt', '/var/cache/apt')
    .purge('/bin/su', '/usr/bin/su', '/usr/bin/passwd', '/usr/bin/chsh', '/usr/bin/chfn', '/usr/bin/newgrp', '/usr/bin/gpasswd')
    .label('org.imgsdk.examples.hardened', 'true');
