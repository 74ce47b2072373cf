// Attacks on the bridge's config, performed over HTTP with the operator token against the real
// bridge process (and, for the password, the real relay):
//  5. a new server_url or rtsp_url would make the bridge send its stored relay password to a host
//     the attacker chose; a listener on loopback stands for that host and records what reaches it.
//  6. device names and paths reach FFmpeg and the serial port: ALSA plugin strings such as
//     `file:FILE=x` make FFmpeg write files, so only real device names are accepted.
// docs/SECURITY.md lists each attack with the test here that tries it.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { registerRobot, startRelay, stopAll } from '../../server/test/helpers.ts';
import { DEFAULT_CONFIG, SECRET_MASK } from '../config/schema.ts';
import { api, startRig, type Rig } from './harness.ts';

const CONFIG = 'avatar_tank_config.json';

/**
 * A TCP listener on loopback that stands for a host (a relay, MediaMTX, or the attacker's): it
 * counts connections and decodes every Basic Authorization header sent to it (HTTP, WebSocket
 * upgrade or RTSP alike), then hangs up.
 */
class Listener {
  connections = 0;
  readonly credentials: string[] = [];
  private constructor(private readonly server: Server, readonly port: number) {}

  static start(): Promise<Listener> {
    return new Promise((resolve, reject) => {
      let listener: Listener;
      const server = createServer((sock) => {
        listener.connections++;
        let head = '';
        sock.on('data', (d: Buffer) => {
          head += d.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          for (const m of head.matchAll(/^authorization:\s*basic\s+(\S+)/gim)) listener.credentials.push(Buffer.from(m[1]!, 'base64').toString());
          sock.destroy();
        });
        sock.on('error', () => {});
      });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        listener = new Listener(server, (server.address() as { port: number }).port);
        resolve(listener);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The robot's RTSP login: its relay-issued publish credential (or, from an older relay, its password). */
const asRobot = (credential: string): boolean => credential.startsWith('sim:');
const fileOf = (rig: Rig): string => readFileSync(join(rig.dataDir, CONFIG), 'utf8');
const savedPassword = (rig: Rig): string => (JSON.parse(fileOf(rig)) as typeof DEFAULT_CONFIG).server_mode.stream_password;

describe('attack: the operator token moves the relay or RTSP host to steal the stored password', () => {
  let rig: Rig;
  let relayUrl = '';
  let password = '';
  let honestRtsp: Listener;
  let attacker: Listener;
  const listeners: Listener[] = [];

  before(async () => {
    const relay = await startRelay();
    relayUrl = relay.url;
    password = await registerRobot(relayUrl, 'sim');
    honestRtsp = await Listener.start();
    attacker = await Listener.start();
    listeners.push(honestRtsp, attacker);
    rig = await startRig({
      prepare: (dir) => writeFileSync(join(dir, CONFIG), JSON.stringify({
        server_mode: { enabled: true, server_url: relayUrl, stream_key: 'sim', stream_password: password, rtsp_url: `rtsp://127.0.0.1:${honestRtsp.port}` },
      })),
    });
    // The rig works: the relay accepts the robot and its publisher dials the honest RTSP host.
    // It publishes with the short-lived credential the relay gives it (hp_…); the stored password
    // is only its relay login, and what an attacker's host would want.
    await waitFor('the publisher to dial the honest RTSP host as the robot', () => honestRtsp.credentials, (c) => c.some(asRobot), 15_000);
  });

  after(async () => {
    await rig?.stop();
    await Promise.all(listeners.map((l) => l.close()));
    await stopAll();
  });

  test('a new host without the password again is refused (400 naming the field), and nothing changes', async () => {
    const evil = `127.0.0.1:${attacker.port}`;
    const attacks: [string, unknown][] = [
      ['/server/config', { server_url: `http://${evil}` }],
      ['/server/config', { rtsp_url: `rtsp://${evil}` }],
      // The mask means "keep the stored one": it is no password either.
      ['/server/config', { server_url: `http://${evil}`, stream_password: SECRET_MASK }],
      ['/server/config', { enabled: true, server_url: `http://${evil}`, rtsp_url: `rtsps://${evil}` }],
      // Same host name, another scheme or port is another endpoint.
      ['/server/config', { server_url: relayUrl.replace('http:', 'https:') }],
      ['/server/config', { rtsp_url: `rtsp://127.0.0.1:${honestRtsp.port + 1}` }],
      // rtsp_url null means "server_url's host on 8554": another endpoint too.
      ['/server/config', { rtsp_url: null }],
      ['/config', { server_mode: { server_url: `http://${evil}` } }],
      ['/config', { robot: { name: 'innocent' }, server_mode: { rtsp_url: `rtsp://${evil}` } }],
    ];
    for (const [path, body] of attacks) {
      const before = fileOf(rig);
      const r = await api(rig, 'POST', path, body);
      if (r.status !== 400) {
        // How the attack succeeds: the bridge dials the new host with the stored password.
        const stolen = await waitFor('the attacker to receive the password', () => attacker.credentials, (c) => c.length > 0, 10_000).catch(() => []);
        assert.fail(`${path} ${JSON.stringify(body)} was accepted (${r.status}); the attacker received ${JSON.stringify(stolen)}`);
      }
      const res = r.body as { ok: boolean; field: string; msg: string };
      assert.equal(res.field, 'server_mode.stream_password', JSON.stringify(body));
      assert.match(res.msg, /stream_password .*again/);
      assert.equal(fileOf(rig), before, `${JSON.stringify(body)}: the config file is untouched`);
    }
    const s = ((await api(rig, 'GET', '/server/status')).body as { status: { server_url: string; rtsp_url: string } }).status;
    assert.equal(s.server_url, relayUrl);
    assert.equal(s.rtsp_url, `rtsp://127.0.0.1:${honestRtsp.port}`);
    assert.equal(((await api(rig, 'GET', '/config')).body as { config: { robot: { name: string } } }).config.robot.name, DEFAULT_CONFIG.robot.name);
  });

  test('the same host without the password keeps the stored one', async () => {
    for (const body of [{ server_url: `${relayUrl}/` }, { server_url: relayUrl, video_fps: 25 }, { rtsp_url: `rtsp://127.0.0.1:${honestRtsp.port}/` }]) {
      const r = await api(rig, 'POST', '/server/config', body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(savedPassword(rig), password);
    }
  });

  test('a new host with the password is accepted and used, the old password is dropped, the attacker heard nothing', async () => {
    const newRtsp = await Listener.start();
    const newRelay = await Listener.start();
    listeners.push(newRtsp, newRelay);
    // The RTSP host moves; the relay stays: the publisher dials the new RTSP host once the relay is up.
    let r = await api(rig, 'POST', '/server/config', { rtsp_url: `rtsp://127.0.0.1:${newRtsp.port}`, stream_password: password });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor('the publisher to dial the new RTSP host as the robot', () => newRtsp.credentials, (c) => c.some(asRobot), 15_000);
    // The relay moves with a new password: only the new one is stored and sent.
    const fresh = 'a-new-password-for-the-new-relay';
    r = await api(rig, 'POST', '/server/config', { server_url: `http://127.0.0.1:${newRelay.port}`, stream_password: fresh });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(savedPassword(rig), fresh);
    await waitFor('the bridge to dial the new relay with the new password', () => newRelay.credentials, (c) => c.includes(`sim:${fresh}`), 10_000);
    assert.ok(!newRelay.credentials.some((c) => c.includes(password)), 'the old password never reaches the new relay');
    // An explicitly empty password with a host change drops the stored one: nothing is sent anywhere.
    r = await api(rig, 'POST', '/server/config', { server_url: relayUrl, stream_password: '' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(savedPassword(rig), '');
    // Every change above came after the attacks and each restarted server mode: had an attack
    // been applied, the bridge would have dialed the attacker before any of them.
    assert.equal(attacker.connections, 0, `the attacker received ${JSON.stringify(attacker.credentials)}`);
  });
});

describe('attack: device names and paths in the config that make FFmpeg or the serial port write files', () => {
  let rig: Rig;
  before(async () => { rig = await startRig(); });
  after(async () => { await rig?.stop(); });

  const ALSA_ATTACKS = [
    'file:FILE=x,FORMAT=raw', 'file:/tmp/havatar-pwned', 'tee:default,/tmp/x', 'plug:{slave="file:FILE=x"}', 'plug:file', 'dmix:x,FILE=y',
    'hw:0,0,FILE=x', 'hw:CARD=x,DEV=0,FORMAT=raw', '|touch /tmp/pwned', 'default|cmd', '-y', 'default ', '../x', '/tmp/x', 'hw:0\n', 'null', 'pulse:',
  ];
  const PATH_ATTACKS = ['/tmp/x', '/dev/../tmp/x', '../x', 'x', '|touch /tmp/pwned', '/dev/video0/../../tmp/x', 'file:FILE=x', '/dev/v4l/by-id/..', '/dev/video0\0'];
  const cases: [string, string, string][] = [
    ...ALSA_ATTACKS.flatMap((v) => [['audio', 'speaker_device', v], ['audio', 'mic_device', v]] as [string, string, string][]),
    ...PATH_ATTACKS.flatMap((v) => [['camera', 'device', v], ['motors', 'serial_port', v], ['https', 'cert_path', v], ['https', 'key_path', v]] as [string, string, string][]),
    ...['/dev/zero', '/proc/self/environ', '/etc/shadow', '/etc/ssl/../shadow.pem', '/dev/shm/x.pem', 'cert.pem', '/etc//x.pem']
      .flatMap((v) => [['https', 'cert_path', v], ['https', 'key_path', v]] as [string, string, string][]),
    ['camera', 'device', '/dev/sda'], ['motors', 'serial_port', '/dev/sda1'], ['motors', 'serial_port', '/dev/mem'], ['camera', 'device', 'sim2'],
  ];

  test('every malicious device or path is refused with 400 naming the field; the config file is byte-identical', async () => {
    const before = fileOf(rig);
    for (const [section, key, value] of cases) {
      const r = await api(rig, 'POST', '/config', { [section]: { [key]: value } });
      assert.equal(r.status, 400, `${section}.${key} = ${JSON.stringify(value)} was accepted`);
      assert.equal((r.body as { field: string }).field, `${section}.${key}`, JSON.stringify(value));
    }
    assert.equal(fileOf(rig), before);
  });

  test('real device names are accepted', async () => {
    const good: [string, string, string | null][] = [
      ...['default', 'sysdefault', 'sysdefault:CARD=Device', 'hw:0', 'hw:1,0', 'plughw:2,0', 'hw:CARD=Device,DEV=0', 'plughw:CARD=USB_Audio,DEV=1', 'plughw:Device,0', 'sim']
        .flatMap((v) => [['audio', 'speaker_device', v], ['audio', 'mic_device', v]] as [string, string, string][]),
      ['camera', 'device', '/dev/video0'], ['camera', 'device', '/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0'], ['camera', 'device', 'sim'],
      ['motors', 'serial_port', '/dev/ttyUSB1'], ['motors', 'serial_port', '/dev/ttyACM0'], ['motors', 'serial_port', '/dev/ttyAMA0'], ['motors', 'serial_port', '/dev/serial0'],
      ['motors', 'serial_port', '/dev/serial/by-id/usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0'], ['motors', 'serial_port', '/dev/havatar-esp32'],
      ['https', 'cert_path', '/etc/havatar/tls/cert.pem'], ['https', 'key_path', '/var/lib/havatar/key.pem'], ['https', 'cert_path', null],
    ];
    for (const [section, key, value] of good) {
      const r = await api(rig, 'POST', '/config', { [section]: { [key]: value } });
      assert.equal(r.status, 200, `${section}.${key} = ${JSON.stringify(value)}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((JSON.parse(fileOf(rig)) as typeof DEFAULT_CONFIG).motors.serial_port, '/dev/havatar-esp32');
  });

  test('a saved config holding a now-refused device loads with that field reset and a warning; the rest is kept', async () => {
    const saved = structuredClone(DEFAULT_CONFIG);
    saved.robot.name = 'kept-name';
    saved.tts.rate = 200;
    saved.audio.speaker_device = 'file:FILE=talk.raw,FORMAT=raw';
    saved.camera.device = '/tmp/x';
    const text = JSON.stringify(saved, null, 2);
    const old = await startRig({ prepare: (dir) => writeFileSync(join(dir, CONFIG), text) });
    try {
      const cfg = ((await api(old, 'GET', '/config')).body as { config: typeof DEFAULT_CONFIG }).config;
      assert.equal(cfg.audio.speaker_device, DEFAULT_CONFIG.audio.speaker_device);
      assert.equal(cfg.camera.device, DEFAULT_CONFIG.camera.device);
      assert.equal(cfg.robot.name, 'kept-name');
      assert.equal(cfg.tts.rate, 200);
      const warning = old.bridgeLog.find((l) => l.includes('audio.speaker_device') && /reset to the default/.test(l));
      assert.ok(warning, 'a warning names the field');
      assert.match(warning, /"level":"warn"/);
      assert.ok(old.bridgeLog.some((l) => l.includes('camera.device') && /reset to the default/.test(l)));
    } finally {
      await old.stop();
    }
  });
});
