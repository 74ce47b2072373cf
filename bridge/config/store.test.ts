import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createLogger, setLogSink } from '../../common/log.ts';
import { DEFAULT_CONFIG, SECRET_MASK, type Config } from './schema.ts';
import { BACKUP_SUFFIX, CONFIG_FILE, ConfigStore } from './store.ts';

let dir = '';
let lines: string[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'havatar-store-'));
  lines = [];
  setLogSink((l) => lines.push(l));
});
afterEach(() => {
  setLogSink((l) => process.stderr.write(l + '\n'));
  rmSync(dir, { recursive: true, force: true });
});

const saved = (edit: (c: Config) => void): Config => {
  const c = structuredClone(DEFAULT_CONFIG);
  edit(c);
  return c;
};

describe('ConfigStore and the stream password', () => {
  test('a new host with the mask or no password is refused and nothing is written; with the password it is saved', async () => {
    writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(saved((c) => { c.server_mode.stream_password = 'stored'; c.server_mode.server_url = 'https://relay.example'; })));
    const store = await ConfigStore.open(dir, createLogger('test'));
    const before = readFileSync(join(dir, CONFIG_FILE), 'utf8');
    for (const block of [{ server_url: 'https://evil.example' }, { server_url: 'https://evil.example', stream_password: SECRET_MASK }, { rtsp_url: 'rtsp://evil.example' }]) {
      const r = await store.update({ server_mode: block });
      assert.ok(!r.ok && r.problem.field === 'server_mode.stream_password', JSON.stringify(block));
    }
    assert.equal(readFileSync(join(dir, CONFIG_FILE), 'utf8'), before);
    assert.equal(store.get().server_mode.server_url, 'https://relay.example');
    const r = await store.update({ server_mode: { server_url: 'https://new.example', stream_password: 'new' } });
    assert.ok(r.ok);
    assert.equal(store.get().server_mode.stream_password, 'new');
    // The mask on the same host still means "keep it".
    assert.ok((await store.update({ server_mode: { server_url: 'https://new.example/', stream_password: SECRET_MASK } })).ok);
    assert.equal(store.get().server_mode.stream_password, 'new');
  });
});

describe('ConfigStore loading a file the allow-lists now refuse', () => {
  test('each refused device field is reset to its default with a warning; everything else is kept', async () => {
    const file = saved((c) => {
      c.robot.name = 'kept';
      c.safety.deadman_ms = 500;
      c.audio.speaker_device = 'file:FILE=x,FORMAT=raw';
      c.audio.mic_device = 'plughw:1,0';
      c.motors.serial_port = '/tmp/motors';
      c.https.cert_path = '/dev/zero';
    });
    writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(file));
    const store = await ConfigStore.open(dir, createLogger('test'));
    const c = store.get();
    assert.equal(c.audio.speaker_device, DEFAULT_CONFIG.audio.speaker_device);
    assert.equal(c.motors.serial_port, DEFAULT_CONFIG.motors.serial_port);
    assert.equal(c.https.cert_path, null);
    assert.deepEqual([c.robot.name, c.safety.deadman_ms, c.audio.mic_device], ['kept', 500, 'plughw:1,0']);
    assert.deepEqual(store.report, { source: 'file', ok: true, reset: ['audio.speaker_device', 'motors.serial_port', 'https.cert_path'] });
    const warnings = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!.msg, /^config audio\.speaker_device must be an ALSA device.*: reset to the default$/);
  });

  test('a valid file loads unchanged and without warnings', async () => {
    const file = saved((c) => { c.camera.device = '/dev/video0'; c.audio.mic_device = 'hw:CARD=Device,DEV=0'; c.motors.serial_port = '/dev/havatar-esp32'; });
    writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(file));
    const store = await ConfigStore.open(dir, createLogger('test'));
    assert.deepEqual(store.get(), file);
    assert.deepEqual(store.report, { source: 'file', ok: true });
    assert.deepEqual(lines.filter((l) => l.includes('"warn"')), []);
  });

  test('the backup used for a corrupt file gets the same treatment', async () => {
    writeFileSync(join(dir, CONFIG_FILE), '{"robot":');
    writeFileSync(join(dir, CONFIG_FILE + BACKUP_SUFFIX), JSON.stringify(saved((c) => { c.robot.name = 'from-backup'; c.camera.device = '|cmd'; })));
    const store = await ConfigStore.open(dir, createLogger('test'));
    assert.equal(store.get().robot.name, 'from-backup');
    assert.equal(store.get().camera.device, 'sim');
    assert.deepEqual(store.report.reset, ['camera.device']);
  });
});
