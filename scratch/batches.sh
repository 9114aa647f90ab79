#!/bin/sh
cd /work/wt/servers
for b in "postgresql-initdb nginx-light lighttpd tinyproxy apache2" "postgresql redis-server memcached mariadb-server" "unbound bind9 dnsmasq squid privoxy" "openssh-server prometheus-node-exporter varnish proftpd-core" "postfix exim4-daemon-light dovecot-imapd slapd mosquitto"; do
  echo "=== batch: $b $(date +%T)"
  npx ts-node --transpile-only corpus/run.ts $b 2>&1
done
echo "=== end $(date +%T)"
