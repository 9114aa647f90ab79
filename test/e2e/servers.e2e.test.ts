/**
 * The representative part of the server corpus (corpus/servers.ts, CI_SERVERS):
 * each server built from its package and entrypoint starts (its `.ready()` check
 * passes at deploy) and answers a client as the same server in plain Debian does.
 * Together they exercise the rules of what slimming keeps by name: a locale a
 * configuration file names (PostgreSQL initialised with --locale=C.UTF-8), an account
 * it names (nginx's www-data), a program it runs (lighttpd's include_shell of a Perl
 * script, through /bin/sh), a /run directory of tmpfiles.d (tinyproxy) and of a systemd
 * unit's RuntimeDirectory= (sshd). `npm run corpus` runs all.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CI_SERVERS, SERVERS, serverName } from '../../corpus/servers';
import { formatServerResults, runServers, serverImage } from '../../corpus/servers-run';
import { engineOrSkip } from '../_kit/engine';
import { removeImages, tempDir } from './_app';

test('every server of the CI part of the server corpus starts and answers as in plain Debian', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-servers-');
  const namespace = `servers-${randomBytes(3).toString('hex')}`;
  const entries = SERVERS.filter((e) => CI_SERVERS.includes(serverName(e)));
  try {
    assert.is(entries.length, CI_SERVERS.length, 'every CI_SERVERS name is a server corpus entry');
    const results = await runServers(entries, { docker, stateDir: state.dir, namespace });
    console.log(formatServerResults(results));
    assert.equal(
      results.filter((r) => !r.ok).map((r) => `${r.package}: ${r.why}`),
      [],
    );
  } finally {
    await removeImages(
      docker,
      entries.map((e) => serverImage(e, namespace).id),
    );
    state.remove();
  }
});

test.run();
