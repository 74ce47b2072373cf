// Attack: keep watching (or talking) after access was taken away. The relay closes a revoked or
// expired session's WebSocket, but MediaMTX asks the relay only when media starts: a WHEP reader, a
// WHIP talk publisher, an RTSP reader and an HLS reader (whose playlists and segments MediaMTX lets
// through on its own session secret) would keep flowing. Real relay process, real MediaMTX
// v1.20.1, FFmpeg publishing as the robot, and real Chromium as the WebRTC reader and talker; the
// legitimate viewer beside the revoked one keeps playing in the same test.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { waitFor } from '../../common/wait.ts';
import { launchChromium } from '../../e2e/browser.ts';
import {
  admin, api, freePort, launch, mediamtxPorts, mtxApiAuth, Peer, registerRobot, startMediamtx, startRelay, stopAll, type MediamtxProc, type Proc, type RelayProc,
} from './helpers.ts';

/** The promise, measured from the admin's revocation (or the session's expiry) to MediaMTX. */
const WITHIN_MS = 2000;

let relay: RelayProc;
let mtx: MediamtxProc;
/** A blank page on loopback for the readers (a page served by playwright's route() may not reach loopback). */
let app: Server;
let browser: Browser;
let page: Page;

interface Session { token: string; id: string; invite: string; expiresAt: number }
async function sessionOf(role: 'driver' | 'viewer', ttl = '1h'): Promise<Session> {
  const inv = await api(relay.url, 'POST', '/api/invites', { robot: 'sim', role, ttl }, admin);
  assert.equal(inv.status, 201, inv.text);
  const { token, id } = inv.json.invite as { token: string; id: string };
  const s = await api(relay.url, 'POST', '/api/session', { invite: token });
  assert.equal(s.status, 201, s.text);
  return { token: s.json.token as string, id: s.json.session as string, invite: id, expiresAt: s.json.expiresAt as number };
}

const mtxApi = (path: string) => api(`http://127.0.0.1:${mtx.api}`, 'GET', path, undefined, mtxApiAuth);
async function listed(kind: 'webrtcsessions' | 'hlssessions' | 'rtspsessions'): Promise<{ id: string; path: string; query: string }[]> {
  return (await mtxApi(`/v3/${kind}/list`)).json.items as { id: string; path: string; query: string }[];
}

// Page side: WHEP readers and a WHIP talker on RTCPeerConnections, by name, and what each sees.
const PAGE_RTC = `
window.pcs = {};
window.openRtc = async (name, url, token, kind) => {
  const pc = new RTCPeerConnection();
  window.pcs[name] = pc;
  if (kind === 'whep') { pc.addTransceiver('video', { direction: 'recvonly' }); pc.addTransceiver('audio', { direction: 'recvonly' }); }
  else { const mic = await navigator.mediaDevices.getUserMedia({ audio: true }); pc.addTransceiver(mic.getAudioTracks()[0], { direction: 'sendonly' }); }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
  const res = await fetch(url, { method: 'POST', body: pc.localDescription.sdp, headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token } });
  if (res.status !== 201) return res.status;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return 201;
};
window.rtcState = async (name) => {
  const pc = window.pcs[name];
  let frames = 0, bytesOut = 0;
  for (const s of (await pc.getStats()).values()) {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
    if (s.type === 'outbound-rtp') bytesOut += s.bytesSent || 0;
  }
  return { state: pc.connectionState, frames, bytesOut };
};`;

interface RtcState { state: string; frames: number; bytesOut: number }
const rtcState = (name: string) => page.evaluate((n) => (globalThis as unknown as { rtcState(n: string): Promise<RtcState> }).rtcState(n), name);
async function openRtc(name: string, kind: 'whep' | 'whip', token: string): Promise<number> {
  const url = `http://127.0.0.1:${mtx.webrtc}/robots/sim${kind === 'whip' ? '/talk' : ''}/${kind}`;
  return page.evaluate(([n, u, t, k]) => (globalThis as unknown as { openRtc(...a: string[]): Promise<number> }).openRtc(n!, u!, t!, k!), [name, url, token, kind]);
}
const playing = (name: string) => waitFor(`${name} decoding video`, () => rtcState(name), (s) => s.state === 'connected' && s.frames > 10, 15_000);

/** A driver that holds the lease (the talk path is the lease holder's) and talks over WHIP as `name`. */
async function talking(name: string, driver: Session): Promise<Peer> {
  const ws = await Peer.open(`${relay.ws}/ws/client/${name}?token=${driver.token}`);
  ws.send({ v: 1, type: 'lease', action: 'take' });
  await ws.next((f) => f.type === 'lease' && f.you === true);
  assert.equal(await openRtc(name, 'whip', driver.token), 201);
  await waitFor(`${name} sending`, () => rtcState(name), (s) => s.state === 'connected' && s.bytesOut > 1000, 15_000);
  return ws;
}

/** An HLS reader as MediaMTX sees one: the multivariant playlist opens its session, then a media playlist. */
async function hlsReader(token: string): Promise<{ media: () => Promise<number> }> {
  const base = `http://127.0.0.1:${mtx.hls}/robots/sim/`;
  const first = await fetch(`${base}index.m3u8?token=${token}`, { redirect: 'manual' });
  await first.body?.cancel();
  assert.equal(first.status, 302);
  const multi = await fetch(new URL(first.headers.get('location')!, base), { signal: AbortSignal.timeout(15_000) });
  const text = await multi.text();
  assert.equal(multi.status, 200, text);
  const child = text.split('\n').find((l) => l && !l.startsWith('#'))!;
  const media = async () => { const r = await fetch(new URL(child, base), { signal: AbortSignal.timeout(5000) }); await r.body?.cancel(); return r.status; };
  assert.equal(await media(), 200, 'the HLS reader plays before the revocation');
  return { media };
}

/** Waits until MediaMTX no longer lists `kind` sessions matching `mine`, and says how long after `since` it was. */
async function goneWithin(kind: 'webrtcsessions' | 'hlssessions' | 'rtspsessions', mine: (s: { query: string; path: string }) => boolean, count: number, since: number): Promise<number> {
  await waitFor(`MediaMTX to drop the revoked ${kind}`, () => listed(kind), (l) => l.filter(mine).length === count, { timeoutMs: WITHIN_MS + 3000, everyMs: 50 });
  return Date.now() - since;
}

before(async () => {
  const ports = await mediamtxPorts();
  relay = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${ports.api}` });
  const pw = await registerRobot(relay.url, 'sim');
  mtx = await startMediamtx(`${relay.url}/mediamtx/auth`, ports);
  app = createServer((_req, res) => res.end('<!doctype html><title>reader</title>'));
  const appPort = await freePort();
  await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', r));
  const ff = await launch('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
    '-profile:v', 'baseline', '-bf', '0', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-ac', '1', '-b:a', '32k',
    '-f', 'rtsp', '-rtsp_transport', 'tcp', '-pkt_size', '1400', `rtsp://sim:${pw}@127.0.0.1:${mtx.rtsp}/robots/sim`], null);
  await waitFor('robots/sim ready', () => mtxApi('/v3/paths/get/robots/sim'), (r) => r.json.ready === true, { timeoutMs: 15_000, everyMs: 100 }).catch((e: Error) => { throw new Error(`${e.message}\n${mtx.lines.filter((l) => !/API/.test(l)).slice(-15).join('\n')}\n${ff.lines.join('\n')}`); });
  // The attacker's reader is not the app: MediaMTX's CORS (only the app's origin) is not what is
  // tested here, so this page on another port is let through it.
  browser = await launchChromium({ nice: 10, extraArgs: ['--disable-web-security'] });
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${appPort}/`);
  await page.evaluate(PAGE_RTC);
});
after(async () => { await browser?.close(); app?.close(); await stopAll(); });

describe('revoked or expired access ends media in MediaMTX', () => {
  test('revoking a viewer\'s invite ends its WHEP reader and RTSP reader within 2 s; another viewer keeps playing', async () => {
    const [bad, good] = [await sessionOf('viewer'), await sessionOf('viewer')];
    assert.equal(await openRtc('revoked', 'whep', bad.token), 201);
    assert.equal(await openRtc('kept', 'whep', good.token), 201);
    await playing('revoked');
    await playing('kept');
    const rtsp: Proc = await launch('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp',
      '-i', `rtsp://viewer:${bad.token}@127.0.0.1:${mtx.rtsp}/robots/sim`, '-f', 'null', '-'], null);
    await waitFor('the RTSP reader listed', () => listed('rtspsessions'), (l) => l.filter((s) => s.path === 'robots/sim').length === 2, 10_000);
    const webrtcBefore = (await listed('webrtcsessions')).length;

    const t0 = Date.now();
    assert.equal((await api(relay.url, 'DELETE', `/api/invites/${bad.invite}`, undefined, admin)).status, 200);
    const ms = await goneWithin('webrtcsessions', (s) => s.path === 'robots/sim', webrtcBefore - 1, t0);
    assert.ok(ms <= WITHIN_MS, `MediaMTX still served the revoked WHEP reader ${ms} ms after the revocation`);
    assert.ok(await goneWithin('rtspsessions', (s) => s.path === 'robots/sim', 1, t0) <= WITHIN_MS, 'the RTSP reader was ended too');
    await rtsp.exited;
    // No more media reaches the revoked reader (Chromium notices the silence only at its ICE
    // consent timeout, so the proof is its frame count), while the viewer beside it decodes a
    // second's worth of new frames, twice.
    const stalled = (await rtcState('revoked')).frames;
    for (let i = 0; i < 2; i++) {
      const kept = (await rtcState('kept')).frames;
      await waitFor('the kept viewer still decoding', () => rtcState('kept'), (s) => s.state === 'connected' && s.frames >= kept + 25, 5000);
    }
    const frames = (await rtcState('revoked')).frames;
    assert.ok(frames <= stalled + 3, `the revoked reader decoded ${frames - stalled} frames after MediaMTX dropped it`);
    // And the revoked token cannot start again.
    assert.equal(await openRtc('again', 'whep', bad.token), 401);
  });

  test('revoking a driver\'s session ends its WHIP talk publisher within 2 s', async () => {
    const driver = await sessionOf('driver');
    const ws = await talking('talker', driver);
    assert.ok((await mtxApi('/v3/paths/get/robots/sim/talk')).json.ready, 'the talk path is published');
    const t0 = Date.now();
    assert.equal((await api(relay.url, 'DELETE', `/api/sessions/${driver.id}`, undefined, admin)).status, 200);
    const ms = await goneWithin('webrtcsessions', (s) => s.path === 'robots/sim/talk', 0, t0);
    assert.ok(ms <= WITHIN_MS, `the revoked talker still published ${ms} ms after the revocation`);
    await waitFor('the talk path to be unpublished', () => mtxApi('/v3/paths/get/robots/sim/talk'), (r) => r.json.ready !== true, 3000);
    await ws.closed;
    // A driver whose access stands can still talk.
    await talking('talker2', await sessionOf('driver'));
  });

  test('an HLS reader is ended within 2 s of its session\'s expiry; its playlists answer 401 after; a live one still plays', async () => {
    // The live reader first: it starts the path's HLS muxer, so the short one is served at once.
    const kept = await hlsReader((await sessionOf('viewer')).token);
    const short = await sessionOf('viewer', '4s');
    const expiring = await hlsReader(short.token);
    const mine = (s: { query: string }) => s.query.includes(short.token);
    assert.equal((await listed('hlssessions')).filter(mine).length, 1);
    await goneWithin('hlssessions', mine, 0, short.expiresAt);
    const late = Date.now() - short.expiresAt;
    assert.ok(late <= WITHIN_MS, `MediaMTX still served the expired HLS reader ${late} ms after its expiry`);
    assert.equal(await expiring.media(), 401, 'the expired reader\'s playlist is refused');
    assert.equal(await kept.media(), 200, 'the live reader still plays');
  });
});
