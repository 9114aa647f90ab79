import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const BIN = resolve(__dirname, '..', '..', 'bin', 'imgsdk.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: '', timeout: 30_000 });

test('clean without --yes refuses when stdin is not a terminal, and removes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-clean-cli-'));
  try {
    mkdirSync(join(dir, 'state'));
    const r = run(['clean', '--state', join(dir, 'state'), '--state-only']);
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, /pass --yes/);
    assert.ok(existsSync(join(dir, 'state')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('clean --state-only --yes removes the state directory and needs no engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-clean-cli-'));
  try {
    mkdirSync(join(dir, 'state', 'rootfs'), { recursive: true });
    const dry = run(['clean', '--state', join(dir, 'state'), '--state-only', '--dry-run']);
    assert.is(dry.status, 0, dry.stderr);
    assert.is(dry.stdout, `directory ${join(dir, 'state')}\n`);
    const r = spawnSync(process.execPath, [BIN, 'clean', '--state', join(dir, 'state'), '--state-only', '--yes'], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    assert.is(r.status, 0, r.stderr);
    assert.not.ok(existsSync(join(dir, 'state')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--prune-volumes takes no state options: usage errors before any engine call', () => {
  for (const args of [
    ['--prune-volumes', '--state-only'],
    ['--prune-volumes', '--keep-builders'],
    ['--prune-volumes', '--all'],
  ]) {
    const r = spawnSync(process.execPath, [BIN, 'clean', '--dry-run', ...args], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /--prune-volumes removes volumes only/);
  }
});

test('clean --gc lists in a dry run exactly what it then removes, and leaves the engine alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-clean-cli-'));
  try {
    const state = join(dir, 'state');
    mkdirSync(join(state, 'layers'), { recursive: true });
    mkdirSync(join(state, 'blobs'), { recursive: true });
    writeFileSync(join(state, 'layers', `${'a'.repeat(64)}.tar`), 'no record names this layer');
    writeFileSync(join(state, 'blobs', 'b'.repeat(64)), 'no entries name this blob');
    const env = { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' };
    const dry = spawnSync(process.execPath, [BIN, 'clean', '--gc', '--state', state, '--dry-run'], { encoding: 'utf8', cwd: dir, env });
    assert.is(dry.status, 0, dry.stderr);
    const listed = dry.stdout
      .split('\n')
      .filter((l) => l.startsWith('file'))
      .map((l) => l.replace(/^file\s+/, '').replace(/ \(.*$/, ''));
    assert.equal(listed.sort(), [join(state, 'blobs', 'b'.repeat(64)), join(state, 'layers', `${'a'.repeat(64)}.tar`)].sort());
    assert.ok(existsSync(listed[0]), 'a dry run removes nothing');
    const r = spawnSync(process.execPath, [BIN, 'clean', '--gc', '--state', state], { encoding: 'utf8', cwd: dir, env });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /removed 2 files/);
    for (const p of listed) assert.not.ok(existsSync(p));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--keep goes with --gc, and --gc with nothing that touches the engine', () => {
  for (const args of [
    ['--keep', '2'],
    ['--gc', '--all'],
    ['--gc', '--keep', 'x'],
  ]) {
    const r = spawnSync(process.execPath, [BIN, 'clean', '--dry-run', ...args], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});

test.run();
