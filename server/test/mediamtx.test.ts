// Real MediaMTX v1.20.1 (our config, free ports) asking the real relay, with FFmpeg publishing a
// synthetic H.264 + Opus stream as the robot. MediaMTX answers wrong credentials after a random
// 0-4 s delay (its brute-force brake): timeouts below allow for it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { renderMediamtxConfig } from '../mediamtx-config.ts';
import {
  Peer, admin, api, freePort, kill, launch, mediamtxPorts, mtxApiAuth, registerRobot, sessionFor, startMediamtx, startRelay, stopAll,
  type MediamtxProc, type RelayProc,
} from './helpers.ts';

let relay: RelayProc;
let mtx: MediamtxProc;
let robotPw: string;

function ffmpegPublish(url: string) {
  return launch('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-bf', '0', '-g', '25', '-pix_fmt', 'yuv420p',
    '-c:a', 'libopus', '-ac', '1', '-b:a', '32k',
    '-f', 'rtsp', '-rtsp_transport', 'tcp', '-pkt_size', '1400', url,
  ], null);
}

async function pathInfo(name: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return api(`http://127.0.0.1:${mtx.api}`, 'GET', `/v3/paths/get/${name}`, undefined, mtxApiAuth);
}

const fingerprint = () => [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
function mediaSection(kind: 'video' | 'audio', mid: number, direction: 'recvonly' | 'sendonly', ufrag: string, pwd: string, fp: string): string {
  const codec = kind === 'video'
    ? ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=rtpmap:96 H264/90000', 'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f']
    : ['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1'];
  const send = direction === 'sendonly' ? [`a=msid:talk ${kind}`, `a=ssrc:${1000 + mid} cname:talk`] : [];
  return [codec[0], 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0', `a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`,
    'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`, 'a=setup:actpass', `a=mid:${mid}`, `a=${direction}`, 'a=rtcp-mux',
    codec[1], codec[2], ...send].join('\r\n');
}
/** A minimal but valid offer: H.264 + Opus to receive (WHEP), or Opus to send (WHIP). */
function offer(kind: 'whep' | 'whip'): string {
  const ufrag = randomBytes(4).toString('hex'), pwd = randomBytes(12).toString('hex'), fp = fingerprint();
  const sections = kind === 'whep'
    ? [mediaSection('video', 0, 'recvonly', ufrag, pwd, fp), mediaSection('audio', 1, 'recvonly', ufrag, pwd, fp)]
    : [mediaSection('audio', 0, 'sendonly', ufrag, pwd, fp)];
  const bundle = kind === 'whep' ? 'a=group:BUNDLE 0 1' : 'a=group:BUNDLE 0';
  return ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', bundle, 'a=msid-semantic: WMS', ...sections].join('\r\n') + '\r\n';
}

async function webrtcPost(path: string, kind: 'whep' | 'whip', token?: string) {
  const r = await fetch(`http://127.0.0.1:${mtx.webrtc}/${path}/${kind}`, {
    method: 'POST', body: offer(kind),
    headers: { 'Content-Type': 'application/sdp', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(8000),
  });
  const body = await r.text();
  const location = r.headers.get('location');
  if (r.status === 201 && location) await fetch(`http://127.0.0.1:${mtx.webrtc}${location}`, { method: 'DELETE' }).catch(() => {});
  return { status: r.status, body, location };
}

before(async () => {
  const ports = await mediamtxPorts();
  relay = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${ports.api}` });
  robotPw = await registerRobot(relay.url, 'sim');
  await registerRobot(relay.url, 'other');
  mtx = await startMediamtx(`${relay.url}/mediamtx/auth`, ports);
});
after(stopAll);

describe('MediaMTX with the relay as its authority', () => {
  test('the rendered config changes only the named keys and keeps the template otherwise', () => {
    const t = readFileSync(new URL('../mediamtx.yml', import.meta.url), 'utf8');
    const out = renderMediamtxConfig({ rtspPort: 1234, authUrl: 'http://relay:3000/mediamtx/auth', appOrigins: ['https://a.example'] });
    assert.match(out, /^rtspAddress: :1234$/m);
    assert.match(out, /^authHTTPAddress: http:\/\/relay:3000\/mediamtx\/auth$/m);
    assert.match(out, /^webrtcAllowOrigins: \["https:\/\/a.example"\]$/m);
    assert.match(out, /^hlsAllowOrigins: \["https:\/\/a.example"\]$/m);
    assert.equal(out.split('\n').length, t.split('\n').length);
    assert.throws(() => renderMediamtxConfig({ rtspPort: 1 }, 'logLevel: info\n'), /no top-level key rtspAddress/);
  });

  test('the robot publishes H.264 + Opus with its credentials and MediaMTX lists both tracks', async () => {
    await ffmpegPublish(`rtsp://sim:${robotPw}@127.0.0.1:${mtx.rtsp}/robots/sim`);
    // FFmpeg starts, encodes its first frames and publishes over RTSP; MediaMTX asks the relay.
    const { json: info } = await waitFor('MediaMTX to list robots/sim as ready', () => pathInfo('robots/sim'),
      (r) => r.status === 200 && r.json.ready === true, { timeoutMs: 10_000, everyMs: 100 });
    assert.deepEqual([...(info.tracks as string[])].sort(), ['H264', 'Opus']);
    assert.equal((info.source as { type: string }).type, 'rtspSession');
  });

  test('wrong credentials are refused', async () => {
    const ff = await ffmpegPublish(`rtsp://sim:wrong-password-123456@127.0.0.1:${mtx.rtsp}/robots/sim-wrong`);
    const code = await ff.exited;
    assert.notEqual(code, 0);
    assert.equal((await pathInfo('robots/sim-wrong')).status, 404);
  });

  test('publishing any other path is refused, even with valid robot credentials', async () => {
    for (const path of ['robots/other', 'live/cam', 'robots/sim/extra']) {
      const ff = await ffmpegPublish(`rtsp://sim:${robotPw}@127.0.0.1:${mtx.rtsp}/${path}`);
      assert.notEqual(await ff.exited, 0, path);
      assert.notEqual((await pathInfo(path)).json.ready, true, path);
    }
  });

  test('WHEP without a token gets 401; a viewer token gets 201 and an answer SDP', async () => {
    const none = await webrtcPost('robots/sim', 'whep');
    assert.equal(none.status, 401);
    const viewer = await sessionFor(relay.url, 'sim', 'viewer');
    const ok = await webrtcPost('robots/sim', 'whep', viewer);
    assert.equal(ok.status, 201, ok.body);
    assert.match(ok.body, /^v=0/);
    assert.match(ok.body, /H264\/90000/);
    // Constrained Baseline with packetization-mode 1: the H.264 every Safari (iPhones too) decodes.
    assert.match(ok.body, /^a=fmtp:\d+ (?=.*packetization-mode=1)(?=.*profile-level-id=42e01f).*$/m);
    assert.match(ok.location ?? '', /^\/robots\/sim\/whep\//);
  });

  test('a viewer token cannot WHIP to talk; the driver holding the lease can', async () => {
    const viewer = await sessionFor(relay.url, 'sim', 'viewer');
    const refused = await webrtcPost('robots/sim/talk', 'whip', viewer);
    assert.equal(refused.status, 401);
    const driver = await sessionFor(relay.url, 'sim', 'driver');
    const holder = await Peer.open(`ws://127.0.0.1:${relay.port}/ws/client/talker?token=${driver}`);
    holder.send({ v: 1, type: 'hello', want: 'driver' });
    await holder.next((f) => f.type === 'lease' && f.you === true);
    const ok = await webrtcPost('robots/sim/talk', 'whip', driver);
    holder.close();
    assert.equal(ok.status, 201, ok.body);
  });

  test('MediaMTX logged no deprecation warning with our config', () => {
    const startup = mtx.lines.slice(0, mtx.lines.findIndex((l) => /\[API\] started/.test(l)) + 1);
    assert.ok(startup.length > 1);
    assert.deepEqual(startup.filter((l) => / WAR /.test(l)), [], 'no warning at start-up');
    assert.deepEqual(mtx.lines.filter((l) => /deprecated/i.test(l)), [], 'no deprecation line at all');
    assert.ok(mtx.lines.some((l) => /configuration loaded/.test(l)));
  });

  test('/health is 200 with MediaMTX up and 503 with the reason when it is down', async () => {
    assert.equal((await api(relay.url, 'GET', '/health')).status, 200);
    await kill(mtx);
    const h = await api(relay.url, 'GET', '/health', undefined, admin); // the reason is for the admin
    assert.equal(h.status, 503);
    assert.match(String(h.json.msg), /mediamtx API unreachable/);
  });
});

describe('health with Redis configured but down', () => {
  test('/health is 503 naming Redis', async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const r = await startRelay({ redisUrl: deadRedis }); // starts anyway, and says what is wrong
    const h = await api(r.url, 'GET', '/health', undefined, admin);
    assert.equal(h.status, 503);
    assert.match(String(h.json.msg), /redis/);
  });
});
