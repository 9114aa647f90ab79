import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, image, type Image } from '../../../src';
import { checkEntrypoint } from '../../../src/runtime/rootfs/entrypoint';
import type { Entry } from '../../../src/runtime/store/entry';
import { Testing } from '../../../src/sdk/testing';
import { dir, elf, symlink } from './_tar-fixture';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
const base = image('acme/e').builder(deb).user('nobody');

/** A file whose first bytes are `body` (its sha256 field names it, so `head` can give them back). */
const script = (path: string, body: string, mode = 0o755): Entry => ({
  path,
  type: 'file',
  mode,
  uid: 0,
  gid: 0,
  size: body.length,
  linkname: null,
  sha256: Buffer.from(body).toString('hex'),
  elf: null,
});
const program = (path: string, interp: string | null = '/lib64/ld-linux-x86-64.so.2'): Entry => ({
  ...script(path, '\x7fELF'),
  elf: elf({ interp }),
});
const loader = { ...program('lib64/ld-linux-x86-64.so.2', null) };
const head = async (e: Entry) => Buffer.from(e.sha256 ?? '', 'hex');

const layers: Entry[][] = [
  [
    dir('usr'),
    dir('usr/bin'),
    dir('lib64'),
    dir('srv'),
    loader,
    program('usr/bin/jq'),
    symlink('usr/bin/jql', 'jq'),
    symlink('usr/bin/gone', 'nothere'),
    { ...program('usr/bin/env') },
    script('usr/bin/notes', 'just text'),
    script('usr/bin/conf', '#!/bin/sh\n', 0o644),
    script('srv/app.py', '#!/usr/bin/env python3\nprint(1)\n'),
    script('srv/tool', '#!/usr/bin/perl -w\n'),
    script('srv/ok', '#!/usr/bin/jq -f\n'),
    program('usr/bin/noloader', '/lib/ld-musl-x86_64.so.1'),
  ],
];

async function problem(img: Image): Promise<string | null> {
  const def = Testing.synth(img).image(img.id).def;
  try {
    await checkEntrypoint(def, layers, head);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

test('an entrypoint that is in the image as an executable ELF program (links followed) passes', async () => {
  assert.is(await problem(base.entrypoint('/usr/bin/jq')), null);
  assert.is(await problem(base.entrypoint('/usr/bin/jql', '.')), null);
  assert.is(await problem(base.cmd('/srv/ok')), null, 'a script whose interpreter is there');
  assert.is(await problem(base.entrypoint('jq')), null, 'a bare name found on the default PATH');
  assert.is(await problem(base), null, 'nothing to start: nothing to check');
});

test('a missing entrypoint fails the build, naming the image and the path', async () => {
  assert.match(
    (await problem(base.entrypoint('/usr/bin/jqq')))!,
    /acme\/e.*entrypoint "\/usr\/bin\/jqq": \/usr\/bin\/jqq is not in the image/s,
  );
  assert.match((await problem(base.entrypoint('/usr/bin/gone')))!, /\/usr\/bin\/gone is not in the image \(a symlink to nothing\)/);
  assert.match((await problem(base.entrypoint('jqq')))!, /"jqq" is not on the image's PATH \(\/usr\/local\/sbin:.*:\/bin\)/);
  assert.match(
    (await problem(base.env('PATH', '/srv').entrypoint('jq')))!,
    /"jq" is not on the image's PATH \(\/srv\)/,
    "the image's own PATH is the one searched",
  );
});

test('with no entrypoint, the command is the program checked', async () => {
  assert.match((await problem(base.cmd('/usr/bin/jqq', '--help')))!, /cmd "\/usr\/bin\/jqq"/);
  assert.is(await problem(base.entrypoint('/usr/bin/jq').cmd('/not/a/program')), null, 'with an entrypoint, cmd is its arguments');
});

test('a directory, a file without x bits, or a file that is neither ELF nor #! is refused', async () => {
  assert.match((await problem(base.entrypoint('/srv')))!, /\/srv is a directory, not a program/);
  assert.match((await problem(base.entrypoint('/usr/bin/conf')))!, /\/usr\/bin\/conf is not executable \(mode 0644\)/);
  assert.match((await problem(base.entrypoint('/usr/bin/notes')))!, /is neither an ELF program nor a script starting with #!/);
});

test("interpreters must resolve: the ELF loader, the #! program, and env's program on PATH", async () => {
  assert.match(
    (await problem(base.entrypoint('/usr/bin/noloader')))!,
    /needs the loader \/lib\/ld-musl-x86_64\.so\.1, which the image does not have/,
  );
  assert.match(
    (await problem(base.entrypoint('/srv/tool')))!,
    /\/srv\/tool is run by \/usr\/bin\/perl: \/usr\/bin\/perl is not in the image/,
  );
  assert.match(
    (await problem(base.workdir('/srv').entrypoint('./app.py')))!,
    /\/srv\/app\.py is run by \/usr\/bin\/env python3: "python3" is not on the image's PATH/,
  );
});

test.run();
