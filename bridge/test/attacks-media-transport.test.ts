// Attack: someone on the path between the robot and MediaMTX reads what the robot sends. The rig:
// the real relay, MediaMTX v1.20.1 (plain RTSP and RTSPS with a certificate from a test CA), the
// simulator and the bridge in server mode, and a TCP proxy in the middle that records every byte
// the robot sends. What it may learn: on plain RTSP (loopback only) a short-lived publish
// credential that cannot log into the relay and stops opening MediaMTX once expired; over RTSPS
// nothing but TLS records. And the robot refuses a MediaMTX whose certificate it cannot verify.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { waitFor } from '../../common/wait.ts';
import { renderMediamtxConfig } from '../../server/mediamtx-config.ts';
import {
  freePort, HOOK_SECRET, launch, mediamtxBin, mediamtxPorts, mtxApiAuth as mtxApi, Peer, registerRobot, sessionFor, startRelay, stopAll, tempDir, type RelayProc,
} from '../../server/test/helpers.ts';
import { openTalker, type Talker } from '../../server/test/whip-talk.ts';
import { RtspPush } from '../server-mode/rtsp-push.ts';
import { PUBLISH_SDP } from '../media/ffmpeg-args.ts';
import { api, startRig, type Rig } from './harness.ts';
import { makeCertificates, type TestCertificates } from './test-certs.ts';

/** Short enough to watch a credential expire within the test. */
const CREDENTIAL_TTL_MS = 4000;

interface Tap { port: number; bytes: Buffer[]; server: Server; text(): string; cut(): void }

/** A TCP proxy on loopback to `target` that keeps every byte the client sends, and can cut its connections. */
async function tap(target: () => number): Promise<Tap> {
  const bytes: Buffer[] = [];
  const open = new Set<() => void>();
  const server = createServer((client) => {
    const up = connect(target(), '127.0.0.1');
    client.on('data', (d: Buffer) => bytes.push(Buffer.from(d)));
    client.pipe(up).pipe(client);
    const end = () => { client.destroy(); up.destroy(); open.delete(end); };
    open.add(end);
    client.on('error', end); up.on('error', end); client.on('close', end); up.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return {
    port: typeof a === 'object' && a ? a.port : 0, bytes, server, text: () => Buffer.concat(bytes).toString('latin1'),
    cut: () => { for (const end of [...open]) end(); },
  };
}

/** Every Basic user:password the recorded RTSP requests carried. */
function basicCredentials(text: string): { user: string; password: string }[] {
  const seen = new Map<string, { user: string; password: string }>();
  for (const m of text.matchAll(/Authorization: Basic (\S+)/g)) {
    const d = Buffer.from(m[1]!, 'base64').toString();
    const i = d.indexOf(':');
    seen.set(d, { user: d.slice(0, i), password: d.slice(i + 1) });
  }
  return [...seen.values()];
}

/** Opens the relay's robot socket with these credentials: the HTTP status of the upgrade (101 = logged in). */
function relayLogin(relay: RelayProc, user: string, password: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${relay.ws}/ws/robot/${user}`, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode ?? 0); });
    ws.on('error', () => resolve(0));
  });
}

/** Tries to publish robots/sim as the attacker would: 'recording' or the refusal. */
async function attackerPublish(url: string): Promise<string> {
  const push = new RtspPush({ url, tracks: [{ sdp: PUBLISH_SDP.video }], timeoutMs: 8000 });
  push.on('error', () => {});
  try {
    await push.listen();
    await push.start();
    return 'recording';
  } catch (err) {
    return (err as Error).message;
  } finally {
    push.close();
  }
}

let relay: RelayProc;
let rig: Rig | null = null;
let password = '';
let ports: Awaited<ReturnType<typeof mediamtxPorts>>;
let rtspsPort = 0;
let certs: TestCertificates;
const taps: Tap[] = [];
/** The credentials the listener saw in the first test (expired by its end). */
let expiredSeen: string[] = [];

async function mtxPath(): Promise<{ ready?: boolean; tracks?: string[] } | null> {
  const r = await fetch(`http://127.0.0.1:${ports.api}/v3/paths/get/${encodeURIComponent('robots/sim')}`, { headers: mtxApi }).catch(() => null);
  return r && r.ok ? ((await r.json()) as { ready?: boolean; tracks?: string[] }) : null;
}
const readyWithBoth = (p: Awaited<ReturnType<typeof mtxPath>>) => p?.ready === true && [...(p.tracks ?? [])].sort().join() === 'H264,Opus';
async function serverStatus(): Promise<{ state: string; last_error: string | null; publishing: boolean }> {
  return ((await api(rig!, 'GET', '/server/status')).body as { status: { state: string; last_error: string | null; publishing: boolean } }).status;
}

before(async () => {
  const dir = tempDir('havatar-rtsps-');
  certs = makeCertificates(dir);
  relay = await startRelay({ env: { RELAY_LIMITS: JSON.stringify({ publishCredentialTtlMs: CREDENTIAL_TTL_MS }) } });
  password = await registerRobot(relay.url, 'sim');
  ports = await mediamtxPorts();
  rtspsPort = await freePort();
  // The template with its RTSPS listener on (compose does the same with Caddy's certificate).
  const config = renderMediamtxConfig({
    host: '127.0.0.1', rtspPort: ports.rtsp, webrtcPort: ports.webrtc, webrtcUdpPort: ports.udp, hlsPort: ports.hls, apiPort: ports.api,
    metricsPort: ports.metrics, authUrl: `${relay.url}/mediamtx/auth`, authSecret: HOOK_SECRET, loopbackOnly: true,
  }).replace(/^rtspEncryption:.*$/m, 'rtspEncryption: "optional"')
    + `\nrtspsAddress: 127.0.0.1:${rtspsPort}\nrtspServerKey: ${certs.key}\nrtspServerCert: ${certs.cert}\n`;
  writeFileSync(join(dir, 'mediamtx.yml'), config);
  await launch(mediamtxBin(), [join(dir, 'mediamtx.yml')], /\[API\] started/, { cwd: dir });
  taps.push(await tap(() => ports.rtsp), await tap(() => rtspsPort));
  rig = await startRig({
    prepare: (d) => writeFileSync(join(d, 'avatar_tank_config.json'), JSON.stringify({
      camera: { device: 'sim', width: 640, height: 480, fps: 25 },
      server_mode: {
        enabled: true, server_url: relay.url, stream_key: 'sim', stream_password: password, fallback_to_local: true,
        rtsp_url: `rtsp://127.0.0.1:${taps[0]!.port}`, video_width: 640, video_height: 480, video_fps: 25, video_kbps: 500,
      },
    })),
  });
});

after(async () => {
  await rig?.stop();
  for (const t of taps) t.server.close();
  await stopAll();
});

describe('robot → MediaMTX, seen from the path', () => {
  test('plain RTSP (loopback): the listener sees only a short-lived publish credential, no relay login, useless once expired', async () => {
    await waitFor('robots/sim ready with H264 + Opus', mtxPath, readyWithBoth, 20_000);
    const text = taps[0]!.text();
    assert.match(text, /ANNOUNCE rtsp:\/\//, 'the listener did see the RTSP session');
    const seen = basicCredentials(text);
    assert.ok(seen.length > 0, 'credentials were sent');
    assert.ok(!text.includes(password) && !text.includes(Buffer.from(`sim:${password}`).toString('base64')), 'the long-lived password never crossed the media path');
    for (const cred of seen) {
      assert.match(cred.password, /^hp_/, 'a relay-issued publish credential');
      assert.equal(await relayLogin(relay, cred.user, cred.password), 401, 'the seen credential cannot log into the relay as the robot');
    }
    assert.equal(await relayLogin(relay, 'sim', password), 101, 'the robot\'s own password still logs in (over the relay link only)');
    // Once its expiry (in the credential) has passed, MediaMTX no longer takes it.
    expiredSeen = seen.map((c) => c.password);
    const cred = seen.at(-1)!;
    const expiresAt = parseInt(cred.password.slice(3, 15), 16);
    await waitFor('the seen credential to expire', async () => Date.now(), (now) => now > expiresAt + 100, CREDENTIAL_TTL_MS + 2000);
    const attempt = await attackerPublish(`rtsp://${cred.user}:${cred.password}@127.0.0.1:${ports.rtsp}/robots/sim`);
    assert.match(attempt, /refused: 401/, 'an expired credential cannot take over the stream');
    assert.ok(readyWithBoth(await mtxPath()), 'the robot\'s stream was never replaced');
  });

  test('after expiry the robot publishes again with the renewed credential (its connection cut on the path)', async () => {
    const before = taps[0]!.bytes.length;
    // Cut on the path, not with MediaMTX's kick: v1.20.1 can crash when its API kicks an RTSP
    // publisher that is sending (server/relay/mediamtx-auth.ts), and a dropped link is the field's case.
    taps[0]!.cut();
    await waitFor('a new session from the robot, ready with H264 + Opus', async () => ({ p: await mtxPath(), n: taps[0]!.bytes.length }), (x) => x.n > before && readyWithBoth(x.p), 20_000);
    const fresh = basicCredentials(Buffer.concat(taps[0]!.bytes.slice(before)).toString('latin1'));
    assert.ok(fresh.length > 0 && fresh.every((c) => c.password.startsWith('hp_') && !expiredSeen.includes(c.password)), 'a renewed credential, not an expired one');
  });

  test('RTSPS: the listener sees only TLS; a certificate from another CA is refused before anything is sent', async () => {
    const rtspsTap = taps[1]!;
    const set = (patch: Record<string, unknown>) => api(rig!, 'POST', '/server/config', { stream_password: password, ...patch });
    assert.equal((await set({ rtsp_url: `rtsps://127.0.0.1:${rtspsTap.port}`, rtsp_ca_file: certs.otherCa })).status, 200);
    await waitFor('the robot to refuse the certificate', serverStatus, (s) => /certificate .*not trusted/.test(s.last_error ?? ''), 20_000);
    assert.ok(!rtspsTap.text().includes('RTSP/1.0') && !rtspsTap.text().includes('hp_'), 'nothing but the TLS handshake went out');
    assert.equal((await set({ rtsp_url: `rtsps://127.0.0.1:${rtspsTap.port}`, rtsp_ca_file: certs.ca })).status, 200);
    await waitFor('the robot publishing over RTSPS', serverStatus, (s) => s.state === 'live' && s.publishing, 20_000);
    assert.ok(readyWithBoth(await mtxPath()), 'MediaMTX has robots/sim with H264 + Opus');
    const all = Buffer.concat(rtspsTap.bytes);
    assert.ok(all.length > 10_000, 'the stream went through the listener');
    assert.equal(all[0], 0x16, 'a TLS handshake record first');
    const text = all.toString('latin1');
    for (const clear of ['RTSP/1.0', 'Authorization', 'hp_', password]) assert.ok(!text.includes(clear), `no "${clear.slice(0, 12)}" in clear`);
  });

  test('RTSPS: the robot reads the driver\'s voice through its verifying tunnel, and the listener sees none of it in clear', async () => {
    const rtspsTap = taps[1]!;
    await waitFor('the robot publishing over RTSPS', serverStatus, (s) => s.state === 'live' && s.publishing, 20_000);
    const token = await sessionFor(relay.url, 'sim', 'driver');
    const c = await Peer.open(`${relay.ws}/ws/client/talker1?token=${token}`);
    let talker: Talker | null = null;
    let beat: ReturnType<typeof setInterval> | undefined;
    try {
      c.send({ v: 1, type: 'hello', name: 'talker', want: 'driver' });
      await c.next((f) => f.type === 'lease' && f.you === true, 5000);
      // The app's heartbeat keeps the lease (idle after 10 s) while Chromium starts on a busy machine.
      beat = setInterval(() => c.send({ v: 1, type: 'heartbeat', t: Date.now() }), 2000);
      const whip = `http://127.0.0.1:${ports.webrtc}/robots/sim/talk/whip`;
      talker = await openTalker(new URL(whip).origin);
      const seenBefore = rtspsTap.bytes.length;
      c.send({ v: 1, type: 'talk', action: 'start' });
      // The app's WHIP publish, from Chromium.
      await talker.publish(whip, token);
      await c.next((f) => f.type === 'talk_state' && f.speaker === 'playing', 8000);
      const sent = Buffer.concat(rtspsTap.bytes.slice(seenBefore)).toString('latin1');
      assert.ok(sent.length > 0, 'the talk read went through the listener');
      for (const clear of ['robots/sim/talk', 'DESCRIBE', 'hp_']) assert.ok(!sent.includes(clear), `no "${clear}" in clear`);
    } finally {
      clearInterval(beat);
      await talker?.stop();
      c.close();
    }
  });

  test('plain RTSP to another machine is refused, naming the field and what to set; nothing is sent', async () => {
    const r = await api(rig!, 'POST', '/server/config', { stream_password: password, rtsp_url: 'rtsp://192.0.2.10:8554', rtsp_ca_file: null });
    assert.equal(r.status, 200, 'saved');
    await waitFor('server mode to say why it does not publish', serverStatus, (s) => /refusing plain RTSP to 192\.0\.2\.10:8554.*rtsp_url to rtsps:\/\/192\.0\.2\.10:8322/.test(s.last_error ?? ''), 10_000);
    const start = await api(rig!, 'POST', '/server/start');
    assert.equal(start.status, 400);
    assert.equal((start.body as { field?: string }).field, 'server_mode.rtsp_url');
    const logged = rig!.bridgeLog.join('\n');
    assert.ok(!logged.includes(password) && !logged.includes('hp_'), 'neither the password nor a credential is in any log line');
    assert.ok(!readFileSync(join(rig!.dataDir, 'avatar_tank_config.json'), 'utf8').includes('hp_'), 'the credential is never saved');
  });
});
