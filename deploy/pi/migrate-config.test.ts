// Migration of a robot's avatar_tank_config.json from a v1 robot (or an older v2 file)
// to a config the v2 bridge loads, with nothing the old file said thrown away.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { DEFAULT_CONFIG, validateConfig, type Config } from '../../bridge/config/schema.ts';
import { CONFIG_FILE, ConfigStore } from '../../bridge/config/store.ts';
import { PRESERVED_FILE, migrateConfig } from './migrate-config.ts';

const root = new URL('../..', import.meta.url).pathname;
/** A complete v2 config, every value changed from the default (built from the schema, so it follows it). */
const v2: Config = {
  ...structuredClone(DEFAULT_CONFIG),
  robot: { name: 'tank-7' },
  camera: { device: '/dev/video0', width: 1280, height: 720, fps: 15 },
  audio: { enabled: false, mic_device: 'plughw:1,0', speaker_device: 'plughw:2,0' },
  motors: { serial_port: '/dev/havatar-esp32', baud: 115200 },
};

/** A v1 robot's file: the documented server_mode block plus the Flask modules' flat keys. */
const v1 = {
  server_mode: {
    enabled: true,
    server_url: 'https://robots.example.org',
    stream_key: 'tank_7',
    stream_password: 'hunter2',
    fallback_to_local: false,
  },
  CAMERA_DEVICE: '/dev/video2',
  MIC_PLUG: 'plughw:1,0',
  SPK_PLUG: 'plughw:2,0',
  serial_port: '/dev/ttyUSB1',
  baud_rate: '115200',
  tts_voice: 'ro',
  flask_secret: 'abc',
  ui: { theme: 'dark' },
};

describe('migrateConfig', () => {
  it('maps every known v1 field to its v2 place and the result is a valid config', () => {
    const { config, notes } = migrateConfig(v1);
    assert.equal(validateConfig(config), null);
    for (const [key, value] of Object.entries(v1.server_mode)) assert.equal(config.server_mode[key as keyof typeof v1.server_mode], value, key);
    assert.equal(config.camera.device, '/dev/video2');
    assert.equal(config.audio.mic_device, 'plughw:1,0');
    assert.equal(config.audio.speaker_device, 'plughw:2,0');
    assert.equal(config.motors.serial_port, '/dev/ttyUSB1');
    assert.equal(config.tts.voice, 'ro');
    assert.ok(notes.includes('CAMERA_DEVICE → camera.device'), notes.join('\n'));
  });

  it('reads a number v1 stored as a string ("115200") as the number', () => {
    assert.equal(migrateConfig(v1).config.motors.baud, 115200);
  });

  it('preserves unknown fields unchanged instead of dropping them', () => {
    const { preserved, notes } = migrateConfig(v1);
    assert.deepEqual(preserved, { flask_secret: 'abc', ui: { theme: 'dark' } });
    assert.ok(notes.some((n) => n.startsWith('ui:')));
  });

  it('keeps the default and preserves the old value when v2 refuses a known field', () => {
    // v1's own fallback for a missing server block had an empty URL, which v2 does not accept.
    const { config, preserved, notes } = migrateConfig({ server_mode: { enabled: false, server_url: '' } });
    assert.equal(config.server_mode.server_url, DEFAULT_CONFIG.server_mode.server_url);
    assert.deepEqual(preserved, { 'server_mode.server_url': '' });
    assert.ok(notes.some((n) => n.startsWith('server_mode.server_url:')), notes.join('\n'));
  });

  it('preserves an unknown key inside a v2 section under its dotted path', () => {
    const { preserved, config } = migrateConfig({ camera: { device: '/dev/video0', rotate: 180 } });
    assert.deepEqual(preserved, { 'camera.rotate': 180 });
    assert.equal(config.camera.device, '/dev/video0');
  });

  it('leaves a valid v2 config exactly as it is', () => {
    const { config, preserved, wasV2 } = migrateConfig(v2);
    assert.equal(wasV2, true);
    assert.deepEqual(config, v2);
    assert.deepEqual(preserved, {});
  });

  it('gives the same result when run on its own output', () => {
    const once = migrateConfig(v1).config;
    assert.deepEqual(migrateConfig(once).config, once);
  });

  it('writes the devices install.sh chose over what the file said', () => {
    const { config } = migrateConfig(v1, { camera: '/dev/video0', mic: 'sim', speaker: 'plughw:3,0', serial: '/dev/havatar-esp32' });
    assert.equal(config.camera.device, '/dev/video0');
    assert.equal(config.audio.mic_device, 'sim');
    assert.equal(config.audio.speaker_device, 'plughw:3,0');
    assert.equal(config.motors.serial_port, '/dev/havatar-esp32');
  });

  it('refuses a chosen device the bridge would refuse, naming the field', () => {
    assert.throws(() => migrateConfig({}, { camera: '/dev/video0; rm -rf /' }), /camera\.device/);
  });

  it('starts from defaults and preserves a file that is not a JSON object', () => {
    const { config, preserved } = migrateConfig([1, 2]);
    assert.deepEqual(config, DEFAULT_CONFIG);
    assert.deepEqual(preserved, { '(root)': [1, 2] });
  });
});

describe('migrate-config CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'havatar-migrate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'deploy/pi/migrate-config.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });

  it('writes a config the bridge loads from its data dir, and the preserved fields beside it', async () => {
    const old = join(dir, 'v1.json');
    writeFileSync(old, JSON.stringify(v1));
    const dataDir = join(dir, 'data');
    const res = cli('--data-dir', dataDir, '--from', old, '--serial', '/dev/havatar-esp32');
    assert.equal(res.status, 0, res.stderr);
    const report = JSON.parse(res.stdout.trim()) as { event: string; preserved: string | null };
    assert.equal(report.event, 'config_migrated');
    assert.equal(report.preserved, join(dataDir, PRESERVED_FILE));
    assert.deepEqual(JSON.parse(readFileSync(join(dataDir, PRESERVED_FILE), 'utf8')), { flask_secret: 'abc', ui: { theme: 'dark' } });

    const store = await ConfigStore.open(dataDir, createLogger('test'));
    assert.deepEqual(store.report, { source: 'file', ok: true });
    assert.equal(store.get().motors.serial_port, '/dev/havatar-esp32');
    assert.equal(store.get().server_mode.stream_key, 'tank_7');
  });

  it('changes nothing in --dry-run', () => {
    const dataDir = join(dir, 'dry');
    const res = cli('--data-dir', dataDir, '--camera', '/dev/video0', '--dry-run');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /"dryRun":true/);
    assert.equal(existsSync(dataDir), false);
  });

  it('migrates the data dir\'s own file in place, keeping the old one as .bak', () => {
    const dataDir = join(dir, 'inplace');
    cli('--data-dir', dataDir);
    const path = join(dataDir, CONFIG_FILE);
    writeFileSync(path, JSON.stringify({ ...v2, legacy_flag: true }));
    const res = cli('--data-dir', dataDir);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(validateConfig(JSON.parse(readFileSync(path, 'utf8'))), null);
    assert.match(readFileSync(`${path}.bak`, 'utf8'), /legacy_flag/);
    assert.deepEqual(JSON.parse(readFileSync(join(dataDir, PRESERVED_FILE), 'utf8')), { legacy_flag: true });
  });

  it('exits 2 with the field named when a chosen device is invalid', () => {
    const res = cli('--data-dir', join(dir, 'bad'), '--mic', 'hw 1');
    assert.equal(res.status, 2);
    assert.match(res.stderr, /audio\.mic_device/);
  });
});
