/**
 * The server corpus: everyday Debian servers, each built as its own image from its
 * package name plus the entrypoint a user would write (the daemon in the foreground,
 * its default configuration, as its own account where the package makes one), started
 * (the image's `.ready()` check waits for its port), and asked through its own
 * protocol by a client in a plain Debian container that shares the server's network
 * (so it speaks to it on loopback, which default configurations allow). The same
 * probe against the same server in a plain Debian container of the same builder,
 * with the package installed, must give the same answer. Add your own server with an
 * entry here.
 */
export interface ServerEntry {
  /** The Debian package, as `.packages()` takes it. */
  readonly package: string;
  /** Packages the user names beside it: what it only Recommends and needs at start (unbound's dns-root-data, its trust anchor). @default none */
  readonly with?: readonly string[];
  /** The image's name, where two entries share a package. @default the package */
  readonly name?: string;
  /** A `.finishRootfs()` hook (`$ROOT` is the image's root); plain Debian runs it as root with ROOT empty before the server. */
  readonly finishRootfs?: string;
  /** The daemon in the foreground: the image's entrypoint, and what the plain container runs. */
  readonly entrypoint: readonly string[];
  /**
   * The account it runs as. One the install creates is declared with `.account()`
   * (its files follow it); without one, it starts as root and drops privileges
   * itself, as its default configuration says (`.allowRoot()`).
   * @default root
   */
  readonly user?: string;
  /** The TCP port it listens on: `.ready({ port })`. */
  readonly port: number;
  /** `sh -c` script of the client (run in the plain image, in the server's network namespace). */
  readonly probe: string;
  /** The part of the probe's output that is the answer (a banner without host names or versions). */
  readonly answer: RegExp;
  /** Files a user adds to the default configuration, path → content (PostgreSQL's pg_hba.conf line for the probe). */
  readonly files?: Readonly<Record<string, string>>;
  /** Client packages the probe needs in the plain image. */
  readonly clients: readonly string[];
  /** What the entry is known to exercise. */
  readonly covers?: string;
  /** Conflicts with another server's package (exim4 and postfix): plain Debian installs it alone. @default false */
  readonly alone?: boolean;
}

/** An HTTP origin in the probe's container, on its own address (proxies refuse to fetch from localhost), then a fetch through the proxy. */
const viaProxy = (port: number) =>
  `mkdir -p /tmp/o && echo corpus-origin >/tmp/o/x.txt && (busybox httpd -f -p "$(hostname -i | cut -d' ' -f1):18080" -h /tmp/o &) && sleep 1 && curl -sS --max-time 20 -x http://127.0.0.1:${port} "http://$(hostname -i | cut -d' ' -f1):18080/x.txt"`;
/** The first line a server says on connecting. */
const banner = (port: number) => `timeout 5 nc -w 3 127.0.0.1 ${port} </dev/null | head -n 1`;

export const SERVERS: readonly ServerEntry[] = [
  // HTTP
  {
    package: 'nginx-light',
    entrypoint: ['nginx', '-g', 'daemon off;'],
    port: 80,
    probe: 'curl -sS -o /dev/null -w "%{http_code}\\n" http://127.0.0.1/',
    answer: /^\d{3}$/m,
    clients: ['curl'],
    covers: 'account named in configuration (user www-data)',
  },
  {
    package: 'apache2',
    entrypoint: ['apache2ctl', '-D', 'FOREGROUND'],
    port: 80,
    probe: 'curl -sS -o /dev/null -w "%{http_code}\\n" http://127.0.0.1/',
    answer: /^\d{3}$/m,
    clients: ['curl'],
    covers: 'wrapper script running Essential tools (mktemp, chmod), LoadModule',
  },
  {
    package: 'lighttpd',
    entrypoint: ['lighttpd', '-D', '-f', '/etc/lighttpd/lighttpd.conf'],
    port: 80,
    probe: 'curl -sS -o /dev/null -w "%{http_code}\\n" http://127.0.0.1/',
    answer: /^\d{3}$/m,
    clients: ['curl'],
    covers: 'include_shell of a Perl script',
  },
  {
    package: 'prometheus-node-exporter',
    entrypoint: ['prometheus-node-exporter'],
    user: 'prometheus',
    port: 9100,
    probe: 'curl -sS http://127.0.0.1:9100/metrics | grep -o "^node_exporter_build_info" | head -n 1',
    answer: /node_exporter_build_info/,
    clients: ['curl'],
  },
  {
    package: 'varnish',
    entrypoint: ['varnishd', '-F', '-a', ':6081', '-b', '127.0.0.1:8080'],
    port: 6081,
    probe: 'curl -sS -o /dev/null -w "%{http_code}\\n" http://127.0.0.1:6081/',
    answer: /^\d{3}$/m,
    clients: ['curl'],
    covers: 'system("rm -rf …"), VCL compiled with the C compiler',
  },
  // Databases and caches
  {
    package: 'postgresql',
    entrypoint: [
      '/usr/lib/postgresql/15/bin/postgres',
      '-D',
      '/var/lib/postgresql/15/main',
      '-c',
      'config_file=/etc/postgresql/15/main/postgresql.conf',
      '-c',
      'listen_addresses=*',
    ],
    user: 'postgres',
    port: 5432,
    files: { '/etc/postgresql/15/main/pg_hba.conf': 'host all all 127.0.0.1/32 trust\n' },
    probe: 'psql -h 127.0.0.1 -U postgres -Atc "select 1"',
    answer: /^1$/m,
    clients: ['postgresql-client'],
    covers: 'locale named in postgresql.conf, /run/postgresql from tmpfiles.d',
  },
  {
    // The newcomer's PostgreSQL: a cluster made at build time with initdb --locale=C.UTF-8, postgres as entrypoint.
    name: 'postgresql-initdb',
    package: 'postgresql',
    entrypoint: ['/usr/lib/postgresql/15/bin/postgres', '-D', '/var/lib/postgresql/data', '-c', 'listen_addresses=*'],
    user: 'postgres',
    port: 5432,
    finishRootfs:
      'mkdir -p "$ROOT/var/lib/postgresql/data" && chown postgres:postgres "$ROOT/var/lib/postgresql/data" && su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/initdb -D $ROOT/var/lib/postgresql/data --locale=C.UTF-8 -A trust >/dev/null"',
    probe: 'psql -h 127.0.0.1 -U postgres -Atc "select 1"',
    answer: /^1$/m,
    clients: ['postgresql-client'],
    covers: 'a locale named by a configuration file written at build time',
  },
  {
    package: 'mariadb-server',
    entrypoint: ['mariadbd', '--bind-address=0.0.0.0'],
    user: 'mysql',
    port: 3306,
    probe: `timeout 5 nc -w 3 127.0.0.1 3306 </dev/null | head -c 120 | tr -c '[:print:]' ' '`,
    answer: /\d+\.\d+\.\d+-MariaDB/,
    clients: ['netcat-openbsd'],
    covers: 'plugins, /run/mysqld',
  }, // its binary greeting holds a newline right after the length: read by bytes, not lines
  {
    package: 'redis-server',
    entrypoint: [
      'redis-server',
      '/etc/redis/redis.conf',
      '--daemonize',
      'no',
      '--supervised',
      'no',
      '--logfile',
      '',
      '--bind',
      '0.0.0.0',
      '--protected-mode',
      'no',
    ],
    user: 'redis',
    port: 6379,
    probe: 'redis-cli -h 127.0.0.1 ping',
    answer: /^PONG$/m,
    clients: ['redis-tools'],
  },
  {
    package: 'memcached',
    entrypoint: ['memcached', '-l', '0.0.0.0'],
    user: 'memcache',
    port: 11211,
    probe: `printf 'set k 0 0 2\\r\\nok\\r\\nget k\\r\\nquit\\r\\n' | timeout 5 nc -q 2 127.0.0.1 11211 | tr -d '\\r'`,
    answer: /VALUE k 0 2\nok/,
    clients: ['netcat-openbsd'],
  },
  // DNS
  // The trust anchor comes from dns-root-data, which unbound only Recommends, and is copied into place by the helper its
  // systemd unit runs before the daemon (ExecStartPre): the user names the package and the entrypoint runs the helper.
  {
    package: 'unbound',
    with: ['dns-root-data'],
    entrypoint: ['/bin/sh', '-c', '/usr/libexec/unbound-helper root_trust_anchor_update && exec unbound -d'],
    port: 53,
    files: { '/etc/unbound/unbound.conf.d/listen.conf': 'server:\n  interface: 0.0.0.0\n  do-ip6: no\n' },
    probe: 'dig +short +time=3 @127.0.0.1 localhost A',
    answer: /^127\.0\.0\.1$/m,
    clients: ['bind9-dnsutils'],
  },
  {
    package: 'bind9',
    entrypoint: ['named', '-g', '-u', 'bind'],
    port: 53,
    probe: 'dig +short +time=3 @127.0.0.1 localhost A',
    answer: /^127\.0\.0\.1$/m,
    clients: ['bind9-dnsutils'],
  },
  {
    package: 'dnsmasq',
    entrypoint: ['dnsmasq', '-k', '--log-facility=-'],
    port: 53,
    probe: 'dig +short +time=3 @127.0.0.1 localhost A',
    answer: /^127\.0\.0\.1$/m,
    clients: ['bind9-dnsutils'],
  },
  // Mail
  {
    package: 'postfix',
    entrypoint: ['postfix', 'start-fg'],
    port: 25,
    probe: banner(25),
    answer: /ESMTP Postfix/,
    clients: ['netcat-openbsd'],
    covers: 'postfix-script (a shell script of Essential tools)',
  },
  {
    package: 'exim4-daemon-light',
    entrypoint: ['exim4', '-bdf', '-q30m', '-oX', '0.0.0.0'],
    port: 25,
    probe: banner(25),
    answer: /ESMTP Exim/,
    clients: ['netcat-openbsd'],
    alone: true,
    covers: 'account named in configuration (trusted_users = uucp)',
  },
  {
    package: 'dovecot-imapd',
    entrypoint: ['dovecot', '-F'],
    port: 143,
    probe: banner(143),
    answer: /^\* OK .*Dovecot.* ready\./m,
    clients: ['netcat-openbsd'],
  },
  // Directory, messaging, remote access, proxies
  {
    package: 'slapd',
    covers: '/run/slapd made by its postinst',
    entrypoint: ['slapd', '-d', '0', '-h', 'ldap:///', '-u', 'openldap', '-g', 'openldap'],
    port: 389,
    probe: "ldapsearch -x -H ldap://127.0.0.1 -b '' -s base namingContexts | grep '^namingContexts'",
    answer: /^namingContexts: .+$/m,
    clients: ['ldap-utils'],
  },
  // Mosquitto 2 without a listener listens on loopback only: the user's listener, anonymous as before.
  {
    package: 'mosquitto',
    entrypoint: ['mosquitto', '-c', '/etc/mosquitto/mosquitto.conf'],
    user: 'mosquitto',
    port: 1883,
    files: { '/etc/mosquitto/conf.d/listen.conf': 'listener 1883\nallow_anonymous true\n' },
    probe: '(timeout 10 mosquitto_sub -h 127.0.0.1 -t corpus -C 1 &) ; sleep 1; mosquitto_pub -h 127.0.0.1 -t corpus -m published; sleep 1',
    answer: /^published$/m,
    clients: ['mosquitto-clients'],
  },
  {
    package: 'openssh-server',
    entrypoint: ['/usr/sbin/sshd', '-D', '-e'],
    port: 22,
    probe: `${banner(22)} | cut -d- -f1-2`,
    answer: /^SSH-2\.0$/m,
    clients: ['netcat-openbsd'],
    covers: '/run/sshd',
  },
  {
    package: 'squid',
    entrypoint: ['squid', '-N', '-d', '1'],
    port: 3128,
    probe: viaProxy(3128),
    answer: /^corpus-origin$/m,
    clients: ['curl', 'busybox'],
  },
  {
    package: 'tinyproxy',
    entrypoint: ['tinyproxy', '-d'],
    port: 8888,
    probe: viaProxy(8888),
    answer: /^corpus-origin$/m,
    clients: ['curl', 'busybox'],
    covers: '/run/tinyproxy',
  },
  // Its one configuration file listens on loopback only (127.0.0.1 and ::1): the user's edit listens on every address.
  {
    package: 'privoxy',
    entrypoint: ['privoxy', '--no-daemon', '/etc/privoxy/config'],
    user: 'privoxy',
    port: 8118,
    finishRootfs: `sed -i -e '/^listen-address *\\[::1\\]/d' -e 's/^listen-address .*/listen-address 0.0.0.0:8118/' "$ROOT/etc/privoxy/config"`,
    probe: viaProxy(8118),
    answer: /^corpus-origin$/m,
    clients: ['curl', 'busybox'],
  },
  {
    package: 'proftpd-core',
    entrypoint: ['proftpd', '--nodaemon'],
    port: 21,
    probe: banner(21),
    answer: /^220 ProFTPD/m,
    clients: ['netcat-openbsd'],
  },
];

/**
 * The part CI runs (test/e2e/servers.e2e.test.ts): small servers that exercise the rules of what
 * slimming keeps by name — a locale a configuration written at build time names (postgresql-initdb),
 * a standard account (nginx-light's www-data), a script a configuration runs with its interpreter and
 * /bin/sh (lighttpd's include_shell of a Perl script), a tmpfiles.d /run directory (tinyproxy), a
 * systemd unit's RuntimeDirectory= (openssh-server's /run/sshd). `npm run corpus` runs them all.
 */
export const CI_SERVERS: readonly string[] = ['postgresql-initdb', 'nginx-light', 'lighttpd', 'tinyproxy', 'openssh-server'];

/** An entry's name: its image's, and what `npm run corpus -- NAME` selects. */
export const serverName = (e: ServerEntry): string => e.name ?? e.package;
