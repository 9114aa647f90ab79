/**
 * Fossil's container notes (seed 004): the stock Fossil container with a Tcl
 * interpreter (for the alerts "Method 2" email queue) and with Python (for server
 * extensions). Both variants share one parent, fossil/server, built here from
 * Gentoo's dev-vcs/fossil on musl (the notes' stages are Alpine, i.e. musl).
 */
import { gentoo, image, type Image } from 'imgsdk';

export const bobMusl = gentoo.builder('kubler/bob-musl', { stage3: 'amd64-musl-hardened' });

/** ARG UID=499 */
const UID = 499;

/**
 * The stock container's setup, shared with the Debian twin (debian.ts): the fossil
 * account, its /log and /museum, the notes' PATH and `fossil server` on 8080.
 * @example image('acme/fossil').builder(b).packages('fossil').with(stockServer)
 */
export const stockServer = (img: Image): Image =>
  img
    // echo "fossil:x:${UID}:${UID}:User:/museum:/false" >> /etc/passwd
    // echo "fossil:x:${UID}:fossil" >> /etc/group
    .account({ user: 'fossil', uid: UID, home: '/museum', shell: '/false' })
    // install -d -m 700 -o fossil -g fossil log museum
    .file('/log', { dir: true }, { mode: 0o700, owner: 'fossil' })
    .file('/museum', { dir: true }, { mode: 0o700, owner: 'fossil' })
    // ENV PATH "/sbin:/usr/sbin:/bin:/usr/bin" ("the longer PATH ... to have ready access to them all")
    .env('PATH', '/sbin:/usr/sbin:/bin:/usr/bin')
    .workdir('/museum')
    .volume('/museum')
    // The stock container's server (not quoted in the notes): fossil server on 8080/tcp,
    // creating the repository on first start. It runs as the fossil user, not as root.
    .user('fossil')
    .expose('8080/tcp')
    .entrypoint('/usr/bin/fossil', 'server')
    .cmd('--create', '--jsmode', 'bundled', '--user', 'admin', '/museum/repo.fossil');

export const fossil = image('fossil/server')
  .builder(bobMusl)
  // COPY --from=builder /tmp/fossil /bin/
  .packages('dev-vcs/fossil')
  .with(stockServer);

// "STAGE 2: Pare that back to the bare essentials, plus Tcl."
export const fossilTcl = image('fossil/server-tcl')
  .from(fossil)
  // apk add --no-cache tcl sqlite-tcl
  // (The later revision also COPYs tools/email-sender.tcl from Fossil's source tree: add it
  // with .file('/bin/email-sender.tcl', { src: '<fossil checkout>/tools/email-sender.tcl' }).)
  .packages('dev-lang/tcl', 'dev-db/sqlite')
  .use('dev-db/sqlite', '+tcl');

// "STAGE 2: Pare that back to the bare essentials, plus Python."
export const fossilPython = image('fossil/server-python')
  .from(fossil)
  // FROM cgr.dev/chainguard/python:latest
  .packages('dev-lang/python')
  // COPY --from=builder /bin/busybox.static /bin/busybox + RUN [ "/bin/busybox", "--install", "/bin" ]
  .packages('sys-apps/busybox')
  .use('sys-apps/busybox', '+static', '+make-symlinks');
