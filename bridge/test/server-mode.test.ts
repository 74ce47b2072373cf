// Server mode, robot side, against real processes on loopback: the relay (server/relay/main.ts),
// MediaMTX v1.20.1 (authMethod http → the relay), the simulator and the bridge configured for
// server mode, FFmpeg publishing talk audio. Every port is free-picked; every process group is
// killed in after().

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyseWav } from '../sim/audio.ts';
import { readdirSync } from 'node:fs';
import {
  ADMIN_KEY, Peer, api as relayApi, freePort, kill, launch, mediamtxPorts, mtxApiAuth, registerRobot, sessionFor, startMediamtx,
  stopAll, tempDir, type MediamtxProc, type Proc,
} from '../../server/test/helpers.ts';
import { sleep, waitFor } from '../../common/wait.ts';
import { api, Operator, startRig, TOKEN, type Rig } from './harness.ts';
import { openTalker, type Talker } from '../../server/test/whip-talk.ts';

interface Status {
  state: string; since: number; last_error: string | null; relay_connected: boolean; publishing: boolean;
  bitrate_kbps: number; fps: number; viewers: number; server_url: string; stream_key: string;
  talk: { by: string | null; flowing: boolean; mic_ducked: boolean };
  server_mode_enabled: boolean; connected_to_server: boolean; video_streaming: boolean; audio_streaming: boolean;
}

let relayPort = 0;
let relayDir = '';
let relay: Proc | null = null;
let mtxPorts: Awaited<ReturnType<typeof mediamtxPorts>>;
let mtx: MediamtxProc | null = null;
let robotPassword = '';
let rig: Rig | null = null;
const relayUrl = () => `http://127.0.0.1:${relayPort}`;

async function startRelayOnPort(): Promise<void> {
  relay = await launch('node', ['--import', 'tsx', 'server/relay/main.ts', '--port', String(relayPort), '--host', '127.0.0.1', '--data-dir', relayDir], /"event":"listening"/, {
    env: { ADMIN_API_KEY: ADMIN_KEY, MEDIAMTX_API_URL: 'none', HAVATAR_LOG_LEVEL: 'warn' },
  });
}

async function status(): Promise<Status> {
  const r = await api(rig!, 'GET', '/server/status');
  assert.equal(r.status, 200);
  return (r.body as { status: Status }).status;
}

async function waitState(state: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await waitFor(`server mode state ${state}`, status, (s) => s.state === state, { timeoutMs, everyMs: 50 });
  return Date.now() - t0;
}

/** Ids of MediaMTX's RTSP sessions publishing robots/sim. */
async function rtspSessions(): Promise<string[]> {
  const r = await fetch(`http://127.0.0.1:${mtxPorts.api}/v3/rtspsessions/list`, { headers: mtxApiAuth });
  const body = (await r.json()) as { items: Array<{ id: string; state: string; path: string }> };
  return body.items.filter((i) => i.state === 'publish' && i.path === 'robots/sim').map((i) => i.id).sort();
}

async function mtxPath(): Promise<Record<string, unknown> | null> {
  const r = await fetch(`http://127.0.0.1:${mtxPorts.api}/v3/paths/get/${encodeURIComponent('robots/sim')}`, { headers: mtxApiAuth }).catch(() => null);
  return r && r.ok ? ((await r.json()) as Record<string, unknown>) : null;
}

/** Counts MJPEG parts from the bridge's local /video for `ms`. */
async function localFrames(ms: number): Promise<number> {
  const ac = new AbortController();
  const r = await fetch(`${rig!.http}/video`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  assert.equal(r.status, 200);
  let parts = 0;
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      parts += Buffer.from(chunk).toString('latin1').split('--frame').length - 1;
    }
  } catch { /* aborted: done */ }
  clearTimeout(timer);
  return parts;
}

async function relayClient(role: 'driver' | 'viewer', id: string): Promise<Peer> {
  const token = await sessionFor(relayUrl(), 'sim', role);
  const c = await Peer.open(`ws://127.0.0.1:${relayPort}/ws/client/${id}?token=${token}`);
  (c as Peer & { token: string }).token = token;
  await c.next((f) => f.type === 'robot' && f.online === true, 5000);
  return c;
}

let seq = 0;
const drive = (left: number, right: number) => ({ v: 1, type: 'drive', seq: ++seq, left, right, ttl: 300, t: Date.now() });

before(async () => {
  relayPort = await freePort();
  relayDir = tempDir('havatar-relay-');
  await startRelayOnPort();
  robotPassword = await registerRobot(relayUrl(), 'sim');
  mtxPorts = await mediamtxPorts();
  mtx = await startMediamtx(`${relayUrl()}/mediamtx/auth`, mtxPorts);
  rig = await startRig({ env: process.env.SM_DEBUG_LOG ? { HAVATAR_LOG_LEVEL: 'debug' } : {},
    prepare: (dir) => writeFileSync(join(dir, 'avatar_tank_config.json'), JSON.stringify({
      // One capture at the publish size: the simulator's frames feed MJPEG and H.264 alike.
      camera: { device: 'sim', width: 1280, height: 720, fps: 30 },
      // The longest deadman: a stop within 1 s then proves the disconnect path, not the deadman.
      safety: { deadman_ms: 2000 },
      server_mode: {
        enabled: true, server_url: relayUrl(), stream_key: 'sim', stream_password: robotPassword,
        fallback_to_local: true, rtsp_url: `rtsp://127.0.0.1:${mtxPorts.rtsp}`,
      },
    })),
  });
});

after(async () => {
  if (process.env.SM_DEBUG_LOG && rig) writeFileSync(process.env.SM_DEBUG_LOG, rig.bridgeLog.join('\n'));
  await rig?.stop();
  await stopAll();
});

describe('server mode (robot side)', () => {
  test('connects to the relay and publishes H.264 + Opus 1280x720 to robots/sim', async () => {
    await waitState('live', 15_000);
    const p = await mtxPath();
    assert.ok(p, 'MediaMTX lists robots/sim');
    assert.equal(p.ready, true);
    assert.deepEqual([...(p.tracks as string[])].sort(), ['H264', 'Opus']);
    const video = (p.tracks2 as { codec: string; codecProps?: { width?: number; height?: number } }[]).find((t) => t.codec === 'H264');
    assert.equal(video?.codecProps?.width, 1280);
    assert.equal(video?.codecProps?.height, 720);
    await waitFor('fps from -progress', status, (s) => s.fps > 20, 5000);
    // The first second carries the start-up backlog; the cap holds once it has drained.
    await waitFor('the measured bitrate to settle under the 1.5 Mbps cap', status, (s) => { const b = s.bitrate_kbps; return b > 300 && b <= 1500 * 1.15; }, 8000);
    const s = await status();
    assert.equal(s.relay_connected, true);
    assert.equal(s.publishing, true);
    assert.equal(s.stream_key, 'sim');
    // v1's keys, beside the new ones: a v1 script polling connected_to_server sees the robot online.
    assert.deepEqual({ enabled: s.server_mode_enabled, connected: s.connected_to_server, video: s.video_streaming, audio: s.audio_streaming },
      { enabled: true, connected: true, video: true, audio: true });
  });

  test('a relay driver drives the simulated robot and gets acks; closing its socket stops the robot', async () => {
    await waitState('live', 10_000);
    const c = await relayClient('driver', 'drv1');
    try {
      // The relay's welcome carries this robot's own deadman (2 s here), which the robot told it.
      const welcome = await c.next((f) => f.type === 'welcome', 3000);
      assert.equal((welcome.limits as { deadmanMs: number }).deadmanMs, 2000);
      c.send({ v: 1, type: 'hello', name: 'remote tester', want: 'driver' });
      await c.next((f) => f.type === 'lease' && f.you === true, 3000);
      await waitFor('viewers from client join', status, (s) => s.viewers === 1, 2000);
      const ticker = setInterval(() => c.send(drive(0.6, 0.6)), 50);
      try {
        const ack = await c.next((f) => f.type === 'ack' && f.result === 'applied', 3000);
        assert.equal(typeof ack.serialRttMs, 'number');
        await waitFor('wheels moving', () => rig!.simState(), (s) => s.left > 0.3, 3000);
        // The bridge's lease is the one authority: a local operator cannot take it meanwhile.
        const local = await api(rig!, 'GET', '/system_status');
        assert.equal((local.body as { motors: { driver: { session: string } } }).motors.driver.session, 'r:drv1');
      } finally {
        clearInterval(ticker);
      }
      const stopped = c.next((f) => f.type === 'stopped', 3000).catch(() => null);
      c.send(drive(0.6, 0.6));
      c.close();
      const t0 = Date.now();
      await waitFor('the robot to stop', () => rig!.simState(), (st) => st.targetLeft === 0 && st.targetRight === 0, 2000);
      assert.ok(Date.now() - t0 < 1000, 'stopped within 1 s of the driver leaving');
      void stopped;
      await waitFor('viewers back to 0 on leave', status, (s) => s.viewers === 0, 2000);
    } finally {
      c.close();
    }
  });

  test('one lease: a local driver keeps it against the relay driver, who gets it when the local one releases', async () => {
    await waitState('live', 10_000);
    const local = await Operator.connect(rig!);
    const c = await relayClient('driver', 'drv3');
    try {
      local.send({ v: 1, type: 'lease', action: 'take' });
      await local.next((m) => m.type === 'lease' && m.you === true);
      c.send({ v: 1, type: 'hello', want: 'driver' });
      const held = await c.next((f) => f.type === 'error' && f.code === 'lease_held', 3000);
      assert.match(String(held.message), /driven locally/);
      c.send(drive(0.5, 0.5));
      const refused = await c.next((f) => f.type === 'ack' && f.result === 'refused', 3000);
      assert.match(String(refused.reason), /not the driver/);
      assert.equal((await rig!.simState()).targetLeft, 0, 'the relay driver did not move the robot');
      local.send({ v: 1, type: 'lease', action: 'release' });
      const handed = await local.next((m) => m.type === 'lease' && m.driver === 'r:drv3', 3000);
      assert.equal(handed.you, false);
      c.send(drive(0.5, 0.5));
      await c.next((f) => f.type === 'ack' && f.result === 'applied', 3000);
      // …and now the local operator is the one refused.
      local.send({ v: 1, type: 'lease', action: 'take' });
      const refusedLocal = await local.next((m) => m.type === 'error' && m.code === 'lease_held');
      assert.equal(refusedLocal.ref, 'r:drv3');
      c.send({ v: 1, type: 'stop' });
    } finally {
      c.close();
      await local.close();
    }
    await waitFor('stopped', () => rig!.simState(), (s) => s.targetLeft === 0, 2000);
  });

  test('/server/* endpoints: auth, 400 naming the field, password never returned, config applied live', async () => {
    const noAuth = await api(rig!, 'GET', '/server/status', undefined, {});
    assert.equal(noAuth.status, 401);
    for (const [body, field] of [
      [{ video_kbps: 'fast' }, 'server_mode.video_kbps'],
      [{ stream_key: 'a/b' }, 'server_mode.stream_key'],
      [{ server_url: 'ftp://x' }, 'server_mode.server_url'],
      [{ rtsp_url: 'rtsp://u:p@h:1' }, 'server_mode.rtsp_url'],
      [{ bogus: 1 }, 'server_mode.bogus'],
      [[1, 2], '(root)'],
    ] as const) {
      const r = await api(rig!, 'POST', '/server/config', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal((r.body as { field: string }).field, field);
    }
    const bad = await api(rig!, 'POST', '/server/config', '{not json');
    assert.equal(bad.status, 400);

    const good = await api(rig!, 'POST', '/server/config', { video_kbps: 1200 });
    assert.equal(good.status, 200);
    const text = JSON.stringify(good.body);
    assert.ok(!text.includes(robotPassword), 'the password is never returned');
    assert.equal((good.body as { config: { stream_password: string; video_kbps: number } }).config.stream_password, '********');
    assert.equal((good.body as { config: { video_kbps: number } }).config.video_kbps, 1200);
    await waitState('live', 10_000);

    const sys = await api(rig!, 'GET', '/system_status');
    const server = (sys.body as { server: Status & { available: boolean } }).server;
    assert.equal(server.available, true);
    assert.equal(server.state, 'live');
    assert.ok(!JSON.stringify(sys.body).includes(robotPassword));

    const stop = await api(rig!, 'POST', '/server/stop');
    assert.equal(stop.status, 200);
    assert.equal((await status()).state, 'off');
    await waitFor('the path to go away', mtxPath, (p) => p === null, 3000);
    const start = await api(rig!, 'POST', '/server/start');
    assert.equal(start.status, 200);
    await waitState('live', 10_000);
    assert.ok(!rig!.bridgeLog.some((l) => l.includes(robotPassword)), 'the bridge never logs the password');
  });

  test('MediaMTX killed: fallback within 3 s, local video keeps serving, live again by itself after restart', async () => {
    await waitState('live', 10_000);
    await kill(mtx!);
    const toFallback = await waitState('fallback', 3000);
    assert.match((await status()).last_error ?? '', /MediaMTX/);
    assert.ok((await localFrames(1000)) >= 10, 'local /video still serves frames');
    mtx = await startMediamtx(`${relayUrl()}/mediamtx/auth`, mtxPorts);
    const toLive = await waitState('live', 8000);
    console.log(`# MediaMTX killed → fallback in ${toFallback} ms; restarted → live in ${toLive} ms`);
    assert.ok((await mtxPath())?.ready, 'publishing again');
  });

  test('an encoder SIGKILLed (video, then audio): restarted by itself on the same RTSP session, the stream reads back', async () => {
    await waitState('live', 10_000);
    const encoder = (codec: string) => {
      const out = execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' });
      const row = out.split('\n').find((l) => l.includes(codec) && l.includes('-f rtp') && Number(l.trim().split(/\s+/)[1]) === rig!.bridge.child.pid);
      return row ? Number(row.trim().split(/\s+/)[0]) : null;
    };
    const sessionsBefore = await rtspSessions();
    for (const codec of ['libx264', 'libopus']) {
      const pid = encoder(codec);
      assert.ok(pid, `the ${codec} encoder runs as the bridge's child`);
      const t0 = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitFor(`a new ${codec} encoder`, () => encoder(codec), (p) => p !== null && p !== pid, 5000);
      await waitState('live', 8000);
      console.log(`# ${codec} encoder SIGKILLed → a new one in ${Date.now() - t0} ms`);
    }
    assert.deepEqual(await rtspSessions(), sessionsBefore, 'the same RTSP session carried on');
    const token = await sessionFor(relayUrl(), 'sim', 'viewer');
    const url = `rtsp://viewer:${encodeURIComponent(token)}@127.0.0.1:${mtxPorts.rtsp}/robots/sim`;
    const gray = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-allowed_media_types', 'video', '-i', url, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { timeout: 10_000, maxBuffer: 16 << 20 });
    assert.ok(gray.length >= 1280 * 720, 'a whole frame reads back');
    const pcm = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-allowed_media_types', 'audio', '-i', url, '-t', '0.3', '-f', 's16le', '-ac', '1', '-ar', '16000', 'pipe:1'], { timeout: 10_000 });
    assert.ok(pcm.length > 2000, 'audio flows again');
  });

  test('relay killed: fallback within 3 s, local video keeps serving, live again by itself after restart', async () => {
    await waitState('live', 10_000);
    const c = await relayClient('driver', 'drv2');
    c.send({ v: 1, type: 'hello', want: 'driver' });
    await c.next((f) => f.type === 'lease' && f.you === true, 3000);
    c.send(drive(0.5, 0.5));
    await c.next((f) => f.type === 'ack' && f.result === 'applied', 3000);
    await waitFor('wheels commanded', () => rig!.simState(), (s) => s.targetLeft > 0.3, 2000);
    await kill(relay!);
    const t0 = Date.now();
    await waitFor('the robot to stop when the relay link drops', () => rig!.simState(), (s) => s.targetLeft === 0, 1500);
    const stopMs = Date.now() - t0;
    c.close();
    const toFallback = await waitState('fallback', 3000);
    const s = await status();
    assert.equal(s.relay_connected, false);
    assert.match(s.last_error ?? '', /relay/);
    // v1 keys: still in server mode (retrying by itself), not connected, the stream stopped.
    assert.equal(s.server_mode_enabled, true);
    assert.equal(s.connected_to_server, false);
    assert.equal(s.video_streaming, false);
    assert.ok((await localFrames(1000)) >= 10, 'local /video still serves frames');
    await waitFor('the server stream to stop while the relay is away', mtxPath, (p) => p === null, 3000);
    await startRelayOnPort();
    const toLive = await waitState('live', 8000);
    console.log(`# relay killed → remote driver's robot stopped in ${stopMs} ms, fallback in ${toFallback} ms; restarted → live in ${toLive} ms`);
  });

  test('talk: audio published to robots/sim/talk plays on the simulated speaker while the mic is ducked', async () => {
    await waitState('live', 10_000);
    const c = await relayClient('driver', 'talker1');
    let talker: Talker | null = null;
    let beat: ReturnType<typeof setInterval> | undefined;
    try {
      c.send({ v: 1, type: 'hello', name: 'talker', want: 'driver' });
      await c.next((f) => f.type === 'lease' && f.you === true, 3000);
      // The app's heartbeat keeps the lease (idle after 10 s) while Chromium starts on a busy machine.
      beat = setInterval(() => c.send({ v: 1, type: 'heartbeat', t: Date.now() }), 2000);
      // The app's WHIP publish comes from Chromium (its marker track: 1 kHz bursts), started first.
      const whip = `http://127.0.0.1:${mtxPorts.webrtc}/robots/sim/talk/whip`;
      talker = await openTalker(new URL(whip).origin);
      const before = new Set(speakerFiles());
      c.send({ v: 1, type: 'talk', action: 'start' });
      await sleep(300); // the stimulus: the app publishes some time after talk start, and the robot must wait for the path
      await talker.publish(whip, (c as Peer & { token: string }).token);
      const playing = await c.next((f) => f.type === 'talk_state' && f.speaker === 'playing', 6000);
      assert.equal(playing.by, 'r:talker1');
      const during = (await status()).talk;
      assert.equal(during.flowing, true);
      assert.equal(during.mic_ducked, true, 'the robot mic is ducked while talk plays');
      await sleep(1500); // the stimulus: 1.5 s of talk
      c.send({ v: 1, type: 'talk', action: 'stop' });
      await c.fresh((f) => f.type === 'talk_state' && f.speaker === 'idle', 3000);
      assert.equal((await status()).talk.mic_ducked, false);
      const fresh = speakerFiles().filter((f) => !before.has(f));
      assert.ok(fresh.length >= 1, 'a recording was made');
      await waitFor('the recording to be written', () => fresh.map((f) => analyseWav(f).durationMs), (ms) => ms.some((d) => d > 800), 3000);
      const rec = fresh.map((f) => analyseWav(f)).sort((a, b) => b.durationMs - a.durationMs)[0]!;
      assert.ok(rec.rms > 0.05, `recorded sound, rms ${rec.rms.toFixed(3)}`);
    } finally {
      clearInterval(beat);
      await talker?.stop();
      c.close();
    }
  });
});

function speakerFiles(): string[] {
  const dir = join(rig!.dataDir, 'speaker');
  try { return readdirSync(dir).filter((n) => n.endsWith('.wav')).map((n) => join(dir, n)); } catch { return []; }
}

void relayApi;
