import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BUILDER_FILES,
  type ColumnsFile,
  FILES,
  formatList,
  formatRows,
  jobPath,
  LOCK_CLOSURE,
  LOCK_JOB,
  type ListFile,
  parseList,
  parseRows,
  PASSWD_ADDED,
  PORTAGE_ACCOUNTS,
  PORTAGE_LOCK,
  PORTAGE_OVERLAYS,
  type Row,
} from '../../src/contract/builder-files';
import { SCRIPTS_DIR } from '../../src/runtime/phase1/run';

const columnsFiles = BUILDER_FILES.filter((f): f is ColumnsFile<string> => f.kind === 'columns');
const listFiles = BUILDER_FILES.filter((f): f is ListFile => f.kind === 'list');
const scripts = readdirSync(SCRIPTS_DIR)
  .filter((f) => f.endsWith('.sh'))
  .map((f) => [f, readFileSync(join(SCRIPTS_DIR, f), 'utf8')] as const);

/** A row whose every value names its column and row, the `tabs` column holding a TAB and a space. */
function sample(file: ColumnsFile<string>, i: number): Row<string> {
  return Object.fromEntries(file.columns.map((c) => [c, c === file.tabs ? `/usr/share/${c} ${i}\twith tab` : `${c}-${i}`]));
}

test('every declared columns file reads back the rows it was written from', () => {
  for (const file of columnsFiles) {
    const rows = [sample(file, 1), sample(file, 2)];
    assert.equal(parseRows(file, formatRows(file, rows)), rows, file.path);
  }
});

test('every declared list file reads back the values it was written from, a header line aside', () => {
  for (const file of listFiles) {
    const values = [`${file.path}-a`, 'b=1.0', 'cat/pkg-1.2::gentoo'];
    assert.equal(parseList(file, formatList(file, values)), values, file.path);
    assert.equal(parseList(file, formatList(file, values, `imgsdk: ${file.path}`)), values, `${file.path} with a header`);
  }
});

test('a written row has the declared columns in order, empty fields for missing values', () => {
  assert.is(
    formatRows(PORTAGE_OVERLAYS, [{ name: 'guru', type: 'git', uri: 'https://example.invalid/guru.git', branch: null }]),
    'guru\tgit\thttps://example.invalid/guru.git\t\n',
  );
  assert.is(
    formatRows(PORTAGE_ACCOUNTS, [{ user: 'app', uid: 1000, group: 'app', gid: 1000, home: '/home/app', shell: '/sbin/nologin' }]),
    'app\t1000\tapp\t1000\t/home/app\t/sbin/nologin\n',
  );
  assert.is(formatList(PORTAGE_LOCK, ['=a/b-1::gentoo'], 'imgsdk.lock: x/y'), '# imgsdk.lock: x/y\n=a/b-1::gentoo\n');
});

test('a value that would shift a column or a row is refused, naming the file and the column', () => {
  assert.throws(() => formatRows(PORTAGE_ACCOUNTS, [{ user: 'a\tb' }]), /accounts\.tsv: the user value/);
  assert.throws(() => formatRows(FILES, [{ path: '/a\nb', package: 'p' }]), /files\.tsv: the path value/);
  assert.throws(() => formatList(LOCK_JOB, ['curl\nhello']), /jobs\/<n>\.list: the value/);
});

test('files.tsv: the package is after the last TAB, a path keeps its own TABs', () => {
  assert.equal(parseRows(FILES, '/usr/share/odd/a\tb\todd-names\n/usr/bin/x\tx\n'), [
    { path: '/usr/share/odd/a\tb', package: 'odd-names' },
    { path: '/usr/bin/x', package: 'x' },
  ]);
});

test('passwd.added is read in passwd(5) columns; a short line has empty trailing fields', () => {
  assert.equal(parseRows(PASSWD_ADDED, 'redis:x:101:104::/var/lib/redis:/usr/sbin/nologin\nodd:x:5\n'), [
    { name: 'redis', password: 'x', uid: '101', gid: '104', gecos: '', home: '/var/lib/redis', shell: '/usr/sbin/nologin' },
    { name: 'odd', password: 'x', uid: '5', gid: '', gecos: '', home: '', shell: '' },
  ]);
});

test("numbered files are named by four-digit job numbers, so the script's glob order is the job order", () => {
  assert.is(jobPath(LOCK_JOB, 3), 'jobs/0003.list');
  assert.is(jobPath(LOCK_CLOSURE, 12), '0012.tsv');
});

test('every declared file is named by a builder script, and every script that reads or writes one points to the module', () => {
  for (const file of BUILDER_FILES) {
    const base = file.path.replace(/^.*\//, '');
    assert.ok(
      scripts.some(([, text]) => text.includes(base)),
      `${file.path} is read or written by a script`,
    );
  }
  for (const [name, text] of scripts) {
    const named = BUILDER_FILES.filter((f) => text.includes(f.path.replace(/^.*\//, '')));
    if (named.length) assert.match(text, 'src/contract/builder-files.ts', `${name} points to the declarations`);
  }
});

test.run();
