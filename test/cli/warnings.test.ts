import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const BIN = join(resolve(__dirname, '..', '..'), 'bin', 'imgsdk.js');

test('synth prints a warning for a .file() source outside the project, and still succeeds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-warn-'));
  try {
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{}');
    writeFileSync(join(dir, 'secret'), 'x', { mode: 0o640 });
    writeFileSync(
      join(project, 'images.ts'),
      "import { debian, image } from 'imgsdk';\nconst deb = debian.builder('w/deb', { suite: 'bookworm' });\nexport const a = image('w/a').builder(deb)\n  .file('/etc/secret', { src: '../secret' }).user('nobody');\n",
    );
    const r = spawnSync(process.execPath, [BIN, 'synth', '-o', 'out'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, IMGSDK_CACHE_DIR: join(dir, 'cache') },
    });
    assert.is(r.status, 0, r.stderr);
    assert.is(
      r.stderr,
      `imgsdk synth: warning: images.ts:4 w/a: file /etc/secret: its source ${join(dir, 'secret')} is outside the project (${project}); it is copied into the assembly and the image with its mode 0640\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
