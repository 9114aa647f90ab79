/**
 * The package corpus: everyday Debian packages, each built as its own image from
 * just its name and run with one command that exercises it. The same command runs
 * in a plain Debian container of the same builder with the package installed; the
 * image must do what that container does. Add your own package with a line here.
 *
 * `output: false` compares exit codes only (the output holds times, or reads a file
 * that differs between images, such as /etc/passwd); otherwise stdout must match too.
 */
import type { KeepCategory } from '../src';

export interface CorpusEntry {
  /** The Debian package, as `.packages()` takes it. */
  readonly package: string;
  /** argv run as the image's user (`nobody`), without a shell. */
  readonly run: readonly string[];
  /** Compare stdout as well as the exit code. @default true */
  readonly output?: boolean;
  /** What the entry is known to exercise (hardlinks, setuid, plugins, interpreter, data...). */
  readonly covers?: string;
  /** `.keep()` categories the image declares, as a user would after deploy's advice (`setuid` for sudo). @default none */
  readonly keep?: readonly KeepCategory[];
}

export const CORPUS: readonly CorpusEntry[] = [
  // Web servers
  { package: 'nginx-light', run: ['nginx', '-V'], output: false },
  { package: 'apache2', run: ['apache2', '-v'], covers: 'modules, maintainer-script files' },
  { package: 'lighttpd', run: ['lighttpd', '-v'] },
  // Databases and caches
  {
    package: 'postgresql',
    run: ['/usr/lib/postgresql/15/bin/initdb', '-D', '/tmp/db', '--no-sync', '-A', 'trust'],
    output: false,
    covers: 'tzdata as data, setuid helpers',
  },
  { package: 'mariadb-server', run: ['mariadbd', '--version'] },
  { package: 'sqlite3', run: ['sqlite3', ':memory:', 'select sqlite_version() > 0'] },
  { package: 'redis-server', run: ['redis-server', '--version'], covers: 'account made by postinst, setuid of passwd/login' },
  { package: 'memcached', run: ['memcached', '-V'] },
  // Proxies and DNS
  { package: 'haproxy', run: ['haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg'], output: false, covers: 'account made by postinst' },
  { package: 'squid', run: ['squid', '-v'] },
  { package: 'unbound', run: ['unbound', '-V'], output: false, covers: 'account made by postinst' },
  { package: 'bind9', run: ['named-checkconf', '/etc/bind/named.conf'] },
  { package: 'dnsmasq-base', run: ['dnsmasq', '--version'] },
  { package: 'postfix', run: ['postconf', '-d', 'mail_version'], covers: 'setgid postdrop, accounts' },
  // TLS, SSH, HTTP clients
  {
    package: 'openssl',
    run: [
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/tmp/k',
      '-out',
      '/tmp/c',
      '-subj',
      '/CN=corpus',
      '-days',
      '1',
    ],
    output: false,
  },
  { package: 'openssh-client', run: ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/tmp/k'], covers: 'setuid ssh-keysign' },
  { package: 'gnutls-bin', run: ['certtool', '--generate-privkey', '--key-type', 'ed25519', '--outfile', '/tmp/k'], output: false },
  { package: 'curl', run: ['curl', '-sS', '-o', '/dev/null', 'file:///etc/hostname'] },
  { package: 'wget', run: ['wget', '--version'], output: false },
  { package: 'gnupg', run: ['gpg', '--version'] },
  // Network tools
  { package: 'iproute2', run: ['ip', '-o', 'link', 'show', 'lo'], output: false, covers: 'plugins (tc/q_atm.so needs libatm)' },
  { package: 'iputils-ping', run: ['ping', '-c', '1', '-W', '2', '127.0.0.1'], output: false, covers: 'file capabilities' },
  { package: 'socat', run: ['socat', '-V'], output: false },
  { package: 'nmap', run: ['nmap', '-sT', '-p', '1', '127.0.0.1'], output: false, covers: 'data files' },
  // Compression and archives
  { package: 'bzip2', run: ['bzip2', '-c', '/etc/hostname'], output: false, covers: 'hardlinks' },
  { package: 'xz-utils', run: ['xz', '-c', '/etc/hostname'], output: false, covers: 'hardlinks' },
  { package: 'zstd', run: ['zstd', '-q', '-c', '/etc/hostname'], output: false },
  { package: 'zip', run: ['zip', '-q', '/tmp/x.zip', '/etc/hostname'] },
  { package: 'unzip', run: ['unzip', '-v'], output: false },
  { package: 'rsync', run: ['rsync', '-a', '/etc/hostname', '/tmp/x'] },
  { package: 'git', run: ['git', 'init', '-q', '/tmp/r'], covers: 'hardlinks (git-core), templates as data, perl scripts' },
  // Languages, each with a standard-library import
  {
    package: 'perl',
    run: ['perl', '-MPOSIX=floor', '-MList::Util=sum', '-MJSON::PP', '-e', 'print sum(1, floor(2.5)), JSON::PP->new->encode([1]), "\n"'],
    covers: 'hardlinks, interpreter library',
  },
  {
    package: 'python3',
    run: [
      'python3',
      '-c',
      'import json, ssl, sqlite3, hashlib, decimal, zlib; print(json.dumps([1, hashlib.sha256(b"x").hexdigest()[:8]]))',
    ],
    covers: 'extension modules',
  },
  { package: 'python3-yaml', run: ['python3', '-c', 'import yaml; print(yaml.safe_dump({"a": 1}), end="")'] },
  {
    package: 'ruby',
    run: ['ruby', '-rjson', '-ropenssl', '-e', 'puts JSON.generate([1, OpenSSL::Digest::SHA256.hexdigest("x")[0, 8]])'],
    covers: 'interpreter library in libruby',
  },
  { package: 'lua5.4', run: ['lua5.4', '-e', 'print(string.format("%d", 7), os.date("!%Y", 0))'] },
  {
    package: 'nodejs',
    run: [
      'node',
      '-e',
      'console.log(require("crypto").createHash("sha1").update("x").digest("hex"), require("zlib").gzipSync("x").length > 0)',
    ],
  },
  {
    package: 'php-cli',
    run: ['php', '-r', 'echo json_encode([1, PHP_INT_SIZE, ctype_digit("12"), iconv("UTF-8", "ISO-8859-1", "ab")]), "\n";'],
    covers: 'modules and their ini files, iconv',
  },
  {
    package: 'openjdk-17-jre-headless',
    run: ['java', '-XshowSettings:properties', '-version'],
    output: false,
    covers: 'dlopened libjvm.so, modules file',
  },
  {
    package: 'python3-cryptography',
    run: [
      'python3',
      '-c',
      'from cryptography.fernet import Fernet; f = Fernet(Fernet.generate_key()); print(f.decrypt(f.encrypt(b"ok")).decode())',
    ],
    covers: 'OpenSSL providers a library loads by name',
  },
  { package: 'r-base-core', run: ['Rscript', '-e', 'cat(sum(1:3))'], covers: '#!/bin/bash wrapper calling Essential tools' },
  { package: 'node-typescript', run: ['tsc', '--version'], covers: '#!/usr/bin/env node' },
  // Deploy warns that the setuid bit went (naming .keep('setuid')); the image keeps it, as the warning says.
  { package: 'sudo', run: ['sudo', '-V'], keep: ['setuid'], covers: "setuid bit of a named package, kept with .keep('setuid')" },
  { package: 'gawk', run: ['gawk', 'BEGIN { print strftime("%Y", 0, 1), toupper("x") }'] },
  // CLIs
  { package: 'jq', run: ['jq', '-n', '[1, 2] | add'] },
  { package: 'file', run: ['file', '-b', '/etc/hostname'], output: false, covers: 'magic database' },
  { package: 'procps', run: ['ps', '-o', 'comm=', '-p', '1'] },
  { package: 'htop', run: ['htop', '--version'] },
  { package: 'tmux', run: ['tmux', '-V'] },
  { package: 'less', run: ['less', '--version'] },
  { package: 'nano', run: ['nano', '--version'] },
  { package: 'vim-tiny', run: ['vim.tiny', '--version'], output: false },
  { package: 'busybox', run: ['busybox', 'echo', 'hi'] },
  { package: 'libxml2-utils', run: ['xmllint', '--version'], output: false },
  { package: 'icu-devtools', run: ['uconv', '-f', 'utf-8', '-t', 'iso-8859-1', '/etc/hostname'], output: false, covers: 'ICU data' },
  { package: 'strace', run: ['strace', '-V'] },
];

/**
 * The part of the corpus CI builds: one package of each kind of trouble (hardlinks,
 * setuid helpers and postinst accounts, plugins, interpreter libraries, data
 * packages, file capabilities).
 */
export const CI_SUBSET: readonly string[] = [
  'bzip2',
  'git',
  'redis-server',
  'iproute2',
  'ruby',
  'python3',
  'postgresql',
  'openssh-client',
  'file',
  'curl',
  'jq',
  'iputils-ping',
];
