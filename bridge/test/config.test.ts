import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, setLogSink } from '../../common/log.ts';
import { DEFAULT_CONFIG, validateConfig } from '../config/schema.ts';
import { ConfigStore } from '../config/store.ts';
import { sleep, waitFor } from '../../common/wait.ts';
import { api, startRig, tempDir, type Rig } from './harness.ts';

const CONFIG = 'avatar_tank_config.json';

describe('config validation', () => {
  test('an unknown key is refused, naming its dotted path', () => {
    assert.deepEqual(validateConfig({ ...DEFAULT_CONFIG, camera: { ...DEFAULT_CONFIG.camera, fsp: 25 } }), { error: 'is not a known field', field: 'camera.fsp' });
    assert.equal(validateConfig({ ...DEFAULT_CONFIG, extra: 1 })?.field, 'extra');
  });
  test('a bad value is refused naming the field', () => {
    assert.equal(validateConfig({ ...DEFAULT_CONFIG, safety: { deadman_ms: 50 } })?.field, 'safety.deadman_ms');
    assert.equal(validateConfig({ ...DEFAULT_CONFIG, server_mode: { ...DEFAULT_CONFIG.server_mode, server_url: 'ftp://x' } })?.field, 'server_mode.server_url');
    assert.equal(validateConfig(DEFAULT_CONFIG), null);
  });
});

describe('config over HTTP', () => {
  let rig: Rig;
  before(async () => { rig = await startRig(); });
  after(async () => { await rig?.stop(); });

  test('a bad body gets 400 naming the wrong field and changes nothing on disk', async () => {
    const before = readFileSync(join(rig.dataDir, CONFIG), 'utf8');
    for (const [body, field] of [
      [{ camera: { fps: 1000 } }, 'camera.fps'],
      [{ camera: { fps: 30, nope: 1 } }, 'camera.nope'],
      [{ robots: {} }, 'robots'],
      [{ server_mode: { enabled: 'yes' } }, 'server_mode.enabled'],
      [[1, 2], '(root)'],
    ] as const) {
      const r = await api(rig, 'POST', '/config', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal((r.body as { field: string }).field, field);
      assert.equal((r.body as { ok: boolean }).ok, false);
    }
    assert.equal((await api(rig, 'POST', '/config', '{"camera":')).status, 400);
    assert.equal((await api(rig, 'POST', '/config', JSON.stringify({ robot: { name: 'x'.repeat(20000) } }))).status, 413);
    assert.equal(readFileSync(join(rig.dataDir, CONFIG), 'utf8'), before);
  });

  test('a valid partial update is saved, the previous file kept as .bak', async () => {
    const before = readFileSync(join(rig.dataDir, CONFIG), 'utf8');
    const r = await api(rig, 'POST', '/config', { robot: { name: 'Rover' } });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(readFileSync(join(rig.dataDir, CONFIG), 'utf8')).robot.name, 'Rover');
    assert.equal(readFileSync(join(rig.dataDir, CONFIG + '.bak'), 'utf8'), before);
    assert.equal(((await api(rig, 'GET', '/config')).body as { config: { robot: { name: string } } }).config.robot.name, 'Rover');
  });

  test('the stream password is stored, never returned or logged in clear, and the mask keeps it', async () => {
    const secret = 'hunter2-very-secret-pw';
    const r = await api(rig, 'POST', '/config', { server_mode: { stream_password: secret, enabled: false } });
    assert.equal(r.status, 200);
    assert.ok(!JSON.stringify(r.body).includes(secret));
    const g = await api(rig, 'GET', '/config');
    assert.equal((g.body as { config: { server_mode: { stream_password: string } } }).config.server_mode.stream_password, '********');
    assert.equal(JSON.parse(readFileSync(join(rig.dataDir, CONFIG), 'utf8')).server_mode.stream_password, secret);
    // The app sends back what it got: the mask means "unchanged".
    const cfg = (g.body as { config: Record<string, unknown> }).config;
    assert.equal((await api(rig, 'POST', '/config', cfg)).status, 200);
    assert.equal(JSON.parse(readFileSync(join(rig.dataDir, CONFIG), 'utf8')).server_mode.stream_password, secret);
    assert.ok(!rig.bridgeLog.some((l) => l.includes(secret)), 'the secret is not in the log');
  });
});

describe('config file safety', () => {
  test('writes survive a SIGKILL in the middle: the file parses and is one of the written versions', async () => {
    const dir = tempDir('cfgkill');
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/config-writer.ts', import.meta.url).pathname, dir], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let written = -1;
    child.stdout!.on('data', (d: Buffer) => { const last = d.toString().trim().split('\n').pop(); if (last) written = Number(last); });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      // Let it get well into its loop, then kill it at an arbitrary point.
      await waitFor('the writer to make 30 writes', () => written, (n) => n >= 30, 10_000);
      // The stimulus: 37 ms more of writing, so the kill lands at an arbitrary point in a write.
      await sleep(37);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    const text = readFileSync(join(dir, CONFIG), 'utf8');
    const parsed = JSON.parse(text) as typeof DEFAULT_CONFIG;
    assert.equal(validateConfig(parsed), null, 'the surviving file is a complete valid config');
    const version = Number(/^v(\d+)-/.exec(parsed.robot.name)?.[1]);
    assert.ok(version >= written && version <= written + 1, `file holds version ${version}, last completed ${written}`);
    assert.equal(parsed.tts.rate, 80 + (version % 300), 'fields of one version, not a mix');
    assert.equal(validateConfig(JSON.parse(readFileSync(join(dir, CONFIG + '.bak'), 'utf8'))), null, 'the backup is valid too');
    // The next start clears a temp file the kill left behind.
    await ConfigStore.open(dir, createLogger('test'));
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a corrupt file on start is reported and the last good copy (.bak) is used', async () => {
    const dir = tempDir('cfgcorrupt');
    const good = structuredClone(DEFAULT_CONFIG);
    good.robot.name = 'from-backup';
    writeFileSync(join(dir, CONFIG), '{"robot": {"name": "half-writ');
    writeFileSync(join(dir, CONFIG + '.bak'), JSON.stringify(good));
    const lines: string[] = [];
    setLogSink((l) => lines.push(l));
    try {
      const store = await ConfigStore.open(dir, createLogger('test'));
      assert.equal(store.get().robot.name, 'from-backup');
      assert.equal(store.report.ok, false);
      assert.equal(store.report.source, 'backup');
      assert.match(store.report.problem ?? '', /not valid JSON/);
      assert.ok(lines.some((l) => l.includes('corrupt')), 'logged');
      assert.equal(JSON.parse(readFileSync(join(dir, CONFIG), 'utf8')).robot.name, 'from-backup', 'the good copy is restored');
      assert.equal(readFileSync(join(dir, CONFIG + '.corrupt'), 'utf8'), '{"robot": {"name": "half-writ', 'the bad file is kept for inspection');
    } finally {
      setLogSink((l) => process.stderr.write(l + '\n'));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the bridge started on a corrupt config reports it in /system_status', async () => {
    const good = structuredClone(DEFAULT_CONFIG);
    good.robot.name = 'from-backup';
    const rig = await startRig({
      prepare: (dir) => {
        writeFileSync(join(dir, CONFIG), JSON.stringify({ ...good, camera: { ...good.camera, fps: 'fast' } }));
        writeFileSync(join(dir, CONFIG + '.bak'), JSON.stringify(good));
      },
    });
    try {
      const s = (await api(rig, 'GET', '/system_status')).body as { config: { ok: boolean; source: string; problem: string } };
      assert.equal(s.config.ok, false);
      assert.equal(s.config.source, 'backup');
      assert.match(s.config.problem, /camera\.fps/);
      assert.equal(((await api(rig, 'GET', '/config')).body as { config: { robot: { name: string } } }).config.robot.name, 'from-backup');
    } finally {
      await rig.stop();
    }
  });
});
