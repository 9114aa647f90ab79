/**
 * The stage3 path against a mirror on 127.0.0.1: a tiny xz tarball served with a
 * correct and with a wrong DIGESTS file (the wrong one fails and tags nothing),
 * both DIGESTS formats Gentoo has published, clear-signed DIGESTS checked with gpg.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BuildError, type FetchError } from '../../../../src/contract/errors';
import {
  ensureStage3Image,
  fetchStage3,
  flavourCandidates,
  parseDigests,
  parseLatest,
  stage3Ref,
  stripClearsign,
} from '../../../../src/runtime/phase1/builders/stage3';
import { engineFromDocker } from '../../../../src/runtime/engine/docker';
import { type Mirror, serveFiles } from '../../../_kit/mirror';
import { gentoo, image } from '../../../../src';
import { newerDate, stage3Updates } from '../../../../src/app/update-lock';
import { App } from '../../../../src/sdk/app';
import { assemble } from '../../../../src/sdk/synth';
import { engineOrSkip } from '../../../_kit/engine';

const DATE = '20240101T000000Z';
const FILE = `stage3-amd64-openrc-${DATE}.tar.xz`;
const work = mkdtempSync(join(tmpdir(), 'imgsdk-stage3-test-'));

/** A real (tiny) stage3: a tar with /bin/marker, xz-compressed. */
function makeTarball(): Buffer {
  const root = join(work, 'root');
  execFileSync('mkdir', ['-p', join(root, 'bin'), join(root, 'etc')]);
  writeFileSync(join(root, 'bin', 'marker'), 'stage3 of the test\n');
  writeFileSync(join(root, 'etc', 'os-release'), 'ID=gentoo\n');
  return execFileSync('sh', ['-c', `tar -C ${root} --owner=0 --group=0 --mtime=@0 -cf - bin etc | xz -c`], { maxBuffer: 1 << 20 });
}
const tarball = makeTarball();
const sha512 = createHash('sha512').update(tarball).digest('hex');
const blake = createHash('blake2b512').update(tarball).digest('hex');

const newDigests = (sha: string) =>
  `# BLAKE2B HASH\n${blake}  ${FILE}\n# SHA512 HASH\n${sha}  ${FILE}\n# BLAKE2B HASH\n${'1'.repeat(128)}  ${FILE}.CONTENTS.gz\n# SHA512 HASH\n${'2'.repeat(128)}  ${FILE}.CONTENTS.gz\n`;
const oldDigests = (sha: string) =>
  `# MD5 HASH\n${'a'.repeat(32)}  ${FILE}\n# SHA1 HASH\n${'b'.repeat(40)}  ${FILE}\n# SHA512 HASH\n${sha}  ${FILE}\n# WHIRLPOOL HASH\n${'c'.repeat(128)}  ${FILE}\n# SHA512 HASH\n${'d'.repeat(128)}  ${FILE}.CONTENTS\n`;

/** mirror name → path → body. */
const mirrors: Record<string, Record<string, string | Buffer>> = {};
let requests: string[] = [];
function mirror(
  name: string,
  digests: string,
  latest = `# Latest as of Mon, 01 Jan 2024\n# ts=1704067200\n${DATE}/${FILE} ${tarball.length}\n`,
): string {
  const base = '/releases/amd64/autobuilds';
  mirrors[name] = {
    [`${base}/latest-stage3-amd64-openrc.txt`]: latest,
    [`${base}/${DATE}/${FILE}`]: tarball,
    [`${base}/${DATE}/${FILE}.DIGESTS`]: digests,
  };
  return `${url}/${name}`;
}

let server: Mirror;
let url = '';
test.before(async () => {
  server = await serveFiles((path) => {
    requests.push(path);
    const [, name, ...rest] = path.split('/');
    return mirrors[name]?.['/' + rest.join('/')];
  });
  url = server.url.replace(/\/$/, '');
});
test.after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

test('the current DIGESTS format gives the SHA512 and BLAKE2B of exactly the named file', () => {
  assert.equal(parseDigests(newDigests(sha512), FILE), { sha512, blake2b: blake });
  assert.equal(parseDigests(newDigests(sha512), `${FILE}.CONTENTS.gz`).sha512, '2'.repeat(128));
});

test('the old DIGESTS format (MD5, SHA1, SHA512, WHIRLPOOL sections) gives the SHA512', () => {
  assert.equal(parseDigests(oldDigests(sha512), FILE), { sha512, blake2b: null });
});

test('a clear-signed DIGESTS is read from its signed body, dash-escaping undone', () => {
  const signed = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n- # SHA512 HASH\n${sha512}  ${FILE}\n-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n`;
  assert.is(stripClearsign(signed).signed, true);
  assert.is(parseDigests(signed, FILE).sha512, sha512);
});

test('latest-stage3 files give the date and path, comments and signatures skipped', () => {
  assert.equal(parseLatest(`# ts=1\n${DATE}/${FILE} 1234\n`), { date: DATE, path: `${DATE}/${FILE}`, size: 1234 });
  assert.equal(parseLatest('20180101/stage3-amd64-hardened-20180101.tar.bz2 99').date, '20180101');
  assert.throws(() => parseLatest('# nothing\n'), /no "<date>/);
});

test('flavours without an init system are also looked up with -openrc', () => {
  assert.equal(flavourCandidates('amd64-hardened-nomultilib'), ['amd64-hardened-nomultilib', 'amd64-hardened-nomultilib-openrc']);
  assert.equal(flavourCandidates('amd64-musl-hardened'), ['amd64-musl-hardened']);
  assert.equal(flavourCandidates('arm64-openrc'), ['arm64-openrc']);
});

test('a correct DIGESTS verifies the download, which lands in the cache by a temp file and is reused', async () => {
  const m = mirror('good', newDigests(sha512));
  const cacheDir = join(work, 'cache-good');
  requests = [];
  const v = await fetchStage3({ mirror: m, flavour: 'amd64-openrc', date: 'latest', gpgKey: null }, { cacheDir });
  assert.equal([v.date, v.sha512, v.signed], [DATE, sha512, false]);
  assert.ok(requests.includes(`/good/releases/amd64/autobuilds/${DATE}/${FILE}`));
  requests = [];
  await fetchStage3({ mirror: m, flavour: 'amd64-openrc', date: DATE, gpgKey: null }, { cacheDir });
  assert.not.ok(requests.includes(`/good/releases/amd64/autobuilds/${DATE}/${FILE}`), 'the verified file is reused');
});

test('a DIGESTS with another SHA512 is an error and the download is removed', async () => {
  const m = mirror('bad', newDigests('f'.repeat(128)));
  const cacheDir = join(work, 'cache-bad');
  try {
    await fetchStage3({ mirror: m, flavour: 'amd64-openrc', date: 'latest', gpgKey: null }, { cacheDir });
    assert.unreachable('should have failed');
  } catch (e) {
    assert.match((e as Error).message, /^stage3 amd64-openrc: .*SHA512 [0-9a-f]{128} does not match its DIGESTS/);
    assert.is((e as FetchError).code, 'INTEGRITY');
  }
  assert.throws(() => execFileSync('test', ['-e', join(cacheDir, 'stage3', DATE, FILE)]));
});

test('a DIGESTS without a SHA512 for the file is an error, not a pass', async () => {
  const m = mirror('nosha', `# BLAKE2B HASH\n${blake}  ${FILE}\n`);
  try {
    await fetchStage3({ mirror: m, flavour: 'amd64-openrc', date: 'latest', gpgKey: null }, { cacheDir: join(work, 'c3') });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /has no SHA512 hash/);
  }
});

/** A throwaway signing key: [armored public key, clearsign(text)]. */
function gpgKey(name: string): { pub: string; sign: (text: string) => string } {
  const home = mkdtempSync(join(work, `gpg-${name}-`));
  const gpg = (args: string[], input?: string) =>
    execFileSync('gpg', ['--batch', '--homedir', home, ...args], { input, stdio: ['pipe', 'pipe', 'ignore'] }).toString();
  gpg(['--passphrase', '', '--quick-gen-key', `${name} <${name}@example.org>`, 'ed25519', 'sign', 'never']);
  return { pub: gpg(['--armor', '--export']), sign: (text) => gpg(['--clearsign'], text) };
}

test('with a gpgKey a clear-signed DIGESTS must verify; another key fails', async () => {
  const good = gpgKey('releng');
  const other = gpgKey('mallory');
  const m = mirror('signed', good.sign(newDigests(sha512)));
  const v = await fetchStage3({ mirror: m, flavour: 'amd64-openrc', date: 'latest', gpgKey: good.pub }, { cacheDir: join(work, 'c4') });
  assert.is(v.signed, true);
  try {
    await fetchStage3({ mirror: m, flavour: 'amd64-openrc', date: 'latest', gpgKey: other.pub }, { cacheDir: join(work, 'c4') });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /does not verify with the configured key/);
  }
});

test('with a gpgKey an unsigned DIGESTS without a .asc is an error, and so is a missing gpg binary', async () => {
  const key = gpgKey('releng2');
  const m = mirror('unsigned', newDigests(sha512));
  try {
    await fetchStage3({ mirror: m, flavour: 'amd64-openrc', date: 'latest', gpgKey: key.pub }, { cacheDir: join(work, 'c5') });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /is not signed and there is no .*\.asc/);
  }
  const s = mirror('signed2', key.sign(newDigests(sha512)));
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await fetchStage3({ mirror: s, flavour: 'amd64-openrc', date: 'latest', gpgKey: key.pub }, { cacheDir: join(work, 'c6') });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /gpg is not installed on this host/);
  } finally {
    process.env.PATH = path;
  }
});

test('update: pinned builders with an older date list the newer date and every image that would rebuild', async () => {
  const m = mirror('update', newDigests(sha512));
  const old = gentoo.builder('kubler/bob', { stage3: 'amd64-openrc', mirror: m, date: '20231201T000000Z' });
  const same = gentoo.builder('kubler/bob-same', { stage3: 'amd64-openrc', mirror: m, date: DATE });
  const pulled = gentoo.builder('staves/stage3', { stage3: 'amd64-openrc', from: 'gentoo/stage3:amd64-openrc' });
  const glibc = image('kubler/glibc').builder(old).packages('sys-libs/glibc');
  const nmap = image('acme/nmap').from(glibc).packages('net-analyzer/nmap').user('nobody');
  const other = image('acme/other').builder(same).packages('app-shells/bash').user('nobody');
  const bash = image('staves/bash').builder(pulled).packages('app-shells/bash').user('nobody');
  const { manifest } = assemble(App.of([nmap, other, bash]));
  const u = await stage3Updates(manifest, null);
  assert.equal(
    u.map((x) => [x.builder, x.current, x.latest, x.newer, x.rebuild]),
    [
      ['kubler/bob', '20231201T000000Z', DATE, true, ['acme/nmap', 'kubler/glibc']],
      ['kubler/bob-same', DATE, DATE, false, ['acme/other']],
      ['staves/stage3', null, null, false, ['staves/bash']],
    ],
  );
  // A builder made from an image has no date to compare: it follows the image behind its tag.
  assert.is(u[2].from, 'gentoo/stage3:amd64-openrc');
  assert.match(u[2].note!, /^the builder follows gentoo\/stage3:amd64-openrc: build or pull a newer image under that tag/);
  assert.ok(newerDate('20240101T000000Z', '20231231') && !newerDate('20180101', '20180101T000000Z'));
});

test('engine: the verified stage3 is imported tagged by date; a wrong DIGESTS tags nothing', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  const good = mirror('import-good', newDigests(sha512));
  const bad = mirror('import-bad', newDigests('e'.repeat(128)));
  const ref = stage3Ref('amd64-openrc', DATE);
  assert.is(ref, `imgsdk-stage3/amd64-openrc:${DATE}`);
  await engine.removeImage(ref, { force: true });
  try {
    await ensureStage3Image(
      engine,
      { mirror: bad, flavour: 'amd64-openrc', date: 'latest', gpgKey: null },
      { cacheDir: join(work, 'c7') },
    ).then(
      () => assert.unreachable('a wrong DIGESTS must fail'),
      (e: unknown) => {
        assert.instance(e, BuildError);
        assert.match((e as Error).message, /stage3 amd64-openrc: .*does not match its DIGESTS/);
      },
    );
    assert.is(await engine.imageExists(ref), false, 'nothing is tagged after a failed check');

    assert.is(
      await ensureStage3Image(
        engine,
        { mirror: good, flavour: 'amd64-openrc', date: 'latest', gpgKey: null },
        { cacheDir: join(work, 'c7') },
      ),
      ref,
    );
    const info = await engine.inspectImage(ref);
    assert.is(info?.labels['org.imgsdk.stage3.sha512'], sha512);
    assert.is(info?.labels['org.imgsdk.stage3.date'], DATE);
    const r = await engine.withContainer({ image: ref, cmd: ['/bin/true'] }, async (c) => {
      const chunks: Buffer[] = [];
      for await (const x of await c.getArchive('/bin/marker')) chunks.push(x as Buffer);
      return Buffer.concat(chunks).toString();
    });
    assert.match(r, /stage3 of the test/);
  } finally {
    await engine.removeImage(ref, { force: true });
  }
});

test.run();
