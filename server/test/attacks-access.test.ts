// Attacks on the relay's access rules and on MediaMTX's auth hook, performed against the real
// processes: the relay (server/relay/main.ts), MediaMTX v1.20.1 asking it, Caddy (server/Caddyfile)
// in front where the attack goes through the proxy, Chromium (WHIP) and FFmpeg (RTSP) as talk publishers. Each test makes
// the attack, asserts the refusal, and shows that the legitimate path still works beside it.
// Loopback has a whole /8: a client "from" 127.0.0.2 is another address as far as every process
// here can tell, which is how one machine plays an attacker and its victims.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { waitFor, within } from '../../common/wait.ts';
import { whipTalk, type Talker } from './whip-talk.ts';
import {
  ADMIN_KEY, HOOK_SECRET, Peer, api, freePort, kill, launch, mediamtxPorts, mtxApiAuth, registerRobot, robotAuth, sessionFor, startMediamtx,
  startCaddy, startRelay, stopAll, tempDir, type MediamtxProc, type RelayProc,
} from './helpers.ts';

const hasCaddy = spawnSync('sh', ['-c', 'command -v caddy']).status === 0;
const LOCK_AFTER = 5;
let relay: RelayProc;
let mtx: MediamtxProc;
let caddy = '';

/** The relay's structured log lines (JSON on stderr) with message `msg`. */
const logged = (msg: string) => relay.lines.flatMap((l) => {
  try { const j = JSON.parse(l) as Record<string, unknown>; return j.msg === msg ? [j] : []; } catch { return []; }
});

/** An HTTP request from a chosen loopback address (another "client" on this one machine). */
function from(localAddress: string, url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method, headers: init.headers, localAddress, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

const fingerprint = () => [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
/** A minimal valid SDP offer: receive H.264 (WHEP) or send Opus (WHIP). */
function offer(kind: 'whep' | 'whip'): string {
  const ice = [`a=ice-ufrag:${randomBytes(4).toString('hex')}`, `a=ice-pwd:${randomBytes(12).toString('hex')}`, `a=fingerprint:sha-256 ${fingerprint()}`, 'a=setup:actpass', 'a=mid:0', 'a=rtcp-mux'];
  const media = kind === 'whep'
    ? ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', ...ice, 'a=recvonly', 'a=rtpmap:96 H264/90000', 'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f']
    : ['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', ...ice, 'a=sendonly', 'a=rtpmap:111 opus/48000/2', 'a=msid:talk audio', 'a=ssrc:1000 cname:talk'];
  return ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=msid-semantic: WMS', ...media].join('\r\n') + '\r\n';
}

/** A WHEP/WHIP offer with a bearer token; a session MediaMTX opened is deleted again. */
async function webrtc(base: string, path: string, kind: 'whep' | 'whip', token: string, localAddress = '127.0.0.1', headers: Record<string, string> = {}) {
  const r = await from(localAddress, `${base}/${path}/${kind}`, { method: 'POST', body: offer(kind), headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}`, ...headers } });
  if (r.status === 201 && r.location) await from(localAddress, `${base}${r.location}`, { method: 'DELETE' });
  return r.status;
}

function ffmpegTalk(url: string) {
  return launch('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:a', 'libopus', '-ac', '1', '-b:a', '32k', '-f', 'rtsp', '-rtsp_transport', 'tcp', url], null);
}
const pathInfo = async (name: string) => api(`http://127.0.0.1:${mtx.api}`, 'GET', `/v3/paths/get/${name}`, undefined, mtxApiAuth);
const talkSource = async () => ((await pathInfo('robots/sim/talk')).json.source as { id?: string } | null)?.id ?? null;
const talkSessions = async () => ((await api(`http://127.0.0.1:${mtx.api}`, 'GET', '/v3/webrtcsessions/list', undefined, mtxApiAuth)).json.items as { id: string; path: string }[])
  .filter((s) => s.path === 'robots/sim/talk').map((s) => s.id);

before(async () => {
  const ports = await mediamtxPorts();
  relay = await startRelay({
    mediamtxApiUrl: `http://127.0.0.1:${ports.api}`,
    env: { RELAY_LIMITS: JSON.stringify({ authFailLockAfter: LOCK_AFTER, authFailBaseDelayMs: 20, authFailMaxDelayMs: 200 }) },
  });
  await registerRobot(relay.url, 'sim');
  // As behind a proxy on this host (the systemd layout): Caddy reaches MediaMTX from 127.0.0.1.
  mtx = await startMediamtx(`${relay.url}/mediamtx/auth`, ports, { trustedProxies: ['127.0.0.1'] });
  if (hasCaddy) caddy = await startCaddy({ relay: relay.port, webrtc: ports.webrtc, hls: ports.hls });
});
after(stopAll);

describe('a flood of bad tokens through the proxy locks nobody else out', { skip: hasCaddy ? false : 'caddy is not installed (apt-get install caddy)' }, () => {
  test('the attacker is braked by its own address; a valid token passes from any address, the attacker\'s too', async () => {
    const attacker = '127.0.0.2', victim = '127.0.0.3';
    // More bad tokens than the lock needs, at once (MediaMTX holds each refusal back 0-4 s), each
    // naming the victim in X-Forwarded-For: Caddy must not pass that on.
    const bad = await Promise.all(Array.from({ length: LOCK_AFTER * 3 }, () =>
      webrtc(caddy, 'robots/sim', 'whep', `hs_${randomBytes(32).toString('base64url')}`, attacker, { 'X-Forwarded-For': victim })));
    assert.deepEqual([...new Set(bad)], [401]);
    const failures = logged('auth failed');
    assert.ok(failures.length >= LOCK_AFTER, `the relay counted the failures (${failures.length})`);
    assert.deepEqual([...new Set(failures.map((f) => f.ip))], [attacker], 'each failure counted against the attacker\'s own address, not the proxy\'s or the victim\'s');
    assert.ok(logged('mediamtx denied').some((d) => d.ip === attacker && /too many failed logins/.test(String(d.reason))), 'the attacker is locked out');

    // The legitimate viewer: its token passes (404: authorised, but the robot is not publishing).
    const viewer = await sessionFor(relay.url, 'sim', 'viewer');
    assert.equal(await webrtc(caddy, 'robots/sim', 'whep', viewer, victim), 404, 'a viewer elsewhere is not locked out');
    assert.equal(await webrtc(caddy, 'robots/sim', 'whep', viewer, attacker), 404, 'a valid token passes even from the locked address (a shared NAT)');
    // And through the relay's own API behind the same proxy: a valid invite from the locked address.
    const inv = await api(relay.url, 'POST', '/api/invites', { robot: 'sim', role: 'viewer', ttl: '1h' }, { Authorization: `Bearer ${ADMIN_KEY}` });
    const redeemed = await from(attacker, `${caddy}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ invite: (inv.json.invite as { token: string }).token }) });
    assert.equal(redeemed.status, 201, redeemed.body);
    // Still braked for guesses.
    assert.equal(await webrtc(caddy, 'robots/sim', 'whep', 'hs_still-guessing', attacker), 401);
  });
});

describe('the driver\'s voice belongs to the lease holder', () => {
  test('a driver without the lease cannot publish talk or take over the holder\'s; the holder talks', async () => {
    const [holderToken, otherToken] = [await sessionFor(relay.url, 'sim', 'driver'), await sessionFor(relay.url, 'sim', 'driver')];
    const holder = await Peer.open(`${relay.ws}/ws/client/holder?token=${holderToken}`);
    const other = await Peer.open(`${relay.ws}/ws/client/other?token=${otherToken}`);
    const talkers: Talker[] = [];
    let beat: ReturnType<typeof setInterval> | undefined;
    try {
      holder.send({ v: 1, type: 'hello', name: 'holder', want: 'driver' });
      await holder.next((f) => f.type === 'lease' && f.you === true);
      // The app's heartbeat keeps the lease (idle after 10 s) while Chromium starts on a busy machine.
      beat = setInterval(() => holder.send({ v: 1, type: 'heartbeat', t: Date.now() }), 2000);
      other.send({ v: 1, type: 'hello', name: 'other', want: 'driver' });
      await other.next((f) => f.type === 'lease' && f.driver === 'holder');
      const base = `http://127.0.0.1:${mtx.webrtc}`;
      assert.equal(await webrtc(base, 'robots/sim/talk', 'whip', otherToken), 401, 'WHIP without the lease is refused');
      assert.equal(await webrtc(base, 'robots/sim/talk', 'whip', holderToken), 201, 'the lease holder may talk');

      const whipUrl = `${base}/robots/sim/talk/whip`;
      talkers.push(await whipTalk(whipUrl, holderToken));
      const talking = await waitFor('the holder\'s talk to be published', () => pathInfo('robots/sim/talk'),
        (r) => r.status === 200 && r.json.ready === true, { timeoutMs: 10_000, everyMs: 100 });
      const source = (talking.json.source as { id: string }).id;
      // The take-over: another driver, then a second publisher with the holder's own session.
      await assert.rejects(whipTalk(whipUrl, otherToken), /WHIP 401/, 'a driver without the lease cannot publish talk');
      // MediaMTX answers a second WHIP publisher before it asks the path, then closes it.
      talkers.push(await whipTalk(whipUrl, holderToken));
      await waitFor('the second publisher to be closed, the holder\'s still on the path', async () => ({ ids: await talkSessions(), src: await talkSource() }),
        (x) => x.ids.length === 1 && x.ids[0] === source && x.src === source, { timeoutMs: 15_000, everyMs: 100 });
      // Over RTSP even the holder is refused: MediaMTX cannot end an RTSP publisher safely.
      const rtsp = await ffmpegTalk(`rtsp://driver:${holderToken}@127.0.0.1:${mtx.rtsp}/robots/sim/talk`);
      assert.notEqual(await rtsp.exited, 0, 'the RTSP talk publisher was refused');
      assert.ok(logged('mediamtx denied').some((f) => f.protocol === 'rtsp' && f.reason === 'talk is published over WebRTC (WHIP) only'), 'with the reason in the relay\'s log');
      assert.equal(await talkSource(), source, 'the holder\'s voice is still the one on the path');
    } finally {
      clearInterval(beat);
      for (const t of talkers) await t.stop();
      holder.close(); other.close();
    }
  });
});

describe('MediaMTX\'s auth hook answers only MediaMTX', () => {
  test('without the shared secret the hook is no token oracle and feeds no brake; MediaMTX itself still gets answers', async () => {
    const viewer = await sessionFor(relay.url, 'sim', 'viewer');
    const ask = (token: string, headers: Record<string, string>) =>
      api(relay.url, 'POST', '/mediamtx/auth', { ip: '203.0.113.9', user: '', password: '', token, action: 'read', path: 'robots/sim', protocol: 'webrtc', id: null, query: '' }, headers);
    const basic = (secret: string) => ({ Authorization: `Basic ${Buffer.from(`mediamtx:${secret}`).toString('base64')}` });
    assert.equal((await ask(viewer, {})).status, 404, 'no secret: a valid token learns nothing');
    assert.equal((await ask(viewer, basic('guessed-secret-0123456789'))).status, 404, 'a wrong secret neither');
    // Bad tokens under someone else's address, enough to lock it: nothing is counted.
    for (let i = 0; i < LOCK_AFTER + 1; i++) assert.equal((await ask(`hs_bad${i}`, {})).status, 404);
    assert.deepEqual(logged('auth failed').filter((f) => f.ip === '203.0.113.9'), [], 'the lie about `ip` reached no brake');
    assert.equal((await ask(viewer, basic(HOOK_SECRET))).status, 200, 'with the secret, the hook answers');
    // MediaMTX sends the secret from its config: a viewer's WHEP is authorised (404: nothing published).
    assert.equal(await webrtc(`http://127.0.0.1:${mtx.webrtc}`, 'robots/sim', 'whep', viewer), 404);
  });
});

describe('public endpoints say how many, not who', () => {
  test('/api/status and /health give counts to anyone, ids and reasons only with the admin key', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = await startRelay({ mediamtxApiUrl: dead });
    const pw = await registerRobot(r.url, 'robot-private-name');
    const robot = await Peer.open(`${r.ws}/ws/robot/robot-private-name`, robotAuth('robot-private-name', pw));
    const driver = await Peer.open(`${r.ws}/ws/client/client-private-id?token=${await sessionFor(r.url, 'robot-private-name', 'driver')}`);
    try {
      driver.send({ v: 1, type: 'hello', name: 'd', want: 'driver' });
      await driver.next((f) => f.type === 'lease' && f.you === true);
      const status = await api(r.url, 'GET', '/api/status');
      assert.equal(status.status, 200);
      assert.doesNotMatch(status.text, /robot-private-name|client-private-id/);
      assert.deepEqual({ ...(status.json.status as object), messagesPerSecond: 0, forwardLatencyMs: null },
        { robots: 1, clients: { drivers: 1, viewers: 0 }, driving: 1, recording: 0, messagesPerSecond: 0, forwardLatencyMs: null, version: (status.json.status as { version: number }).version });
      const health = await api(r.url, 'GET', '/health');
      assert.equal(health.status, 503);
      assert.doesNotMatch(health.text, /mediamtx|unreachable|fetch failed|ECONNREFUSED|127\.0\.0\.1/i);

      const key = { Authorization: `Bearer ${ADMIN_KEY}` };
      const full = await api(r.url, 'GET', '/api/status', undefined, key);
      assert.deepEqual((full.json.status as { robotsOnline: string[] }).robotsOnline, ['robot-private-name']);
      assert.deepEqual((full.json.status as { drivers: object }).drivers, { 'robot-private-name': 'client-private-id' });
      assert.match(String((await api(r.url, 'GET', '/health', undefined, { 'X-Api-Key': ADMIN_KEY })).json.msg), /mediamtx API unreachable/);
      const wrong = await api(r.url, 'GET', '/api/status', undefined, { Authorization: 'Bearer not-the-key' });
      assert.equal(wrong.status, 401, 'a wrong key is a failed login, not a quieter answer');
      assert.doesNotMatch(wrong.text, /robot-private-name/);
    } finally {
      robot.close(); driver.close();
      await kill(r);
    }
  });
});

const lanAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** Whether a TCP connection to host:port is accepted. */
const accepts = (host: string, port: number) => new Promise<boolean>((resolve) => {
  const sock = connect({ host, port, timeout: 3000 });
  sock.once('connect', () => { sock.destroy(); resolve(true); });
  sock.once('error', () => resolve(false));
  sock.once('timeout', () => { sock.destroy(); resolve(false); });
});

describe('npm start keeps server mode on this machine', { skip: lanAddress ? false : 'no network interface besides loopback' }, () => {
  test('the relay and MediaMTX cannot be reached from the network unless asked; on loopback they work', { timeout: 150_000 }, async () => {
    const dataDir = tempDir('havatar-start-');
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: new URL('../..', import.meta.url).pathname, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HAVATAR_PORTS: 'auto', HAVATAR_HOST: '127.0.0.1', HAVATAR_DATA_DIR: dataDir },
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const out: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
    createInterface({ input: child.stderr! }).on('line', (l) => out.push(l));
    try {
      await waitFor('npm start to print that it runs', () => out.join('\n'), (t) => /Press Ctrl-C/.test(t), { timeoutMs: 120_000, everyMs: 200 });
      const text = out.join('\n');
      const relayPort = Number(/Relay:\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(text)![1]);
      const rtspPort = Number(/rtsp:\/\/127\.0\.0\.1:(\d+)/.exec(text)![1]);
      assert.match(text, /Server mode:\s+this machine only/);
      assert.equal(await accepts(lanAddress!, relayPort), false, 'the relay (and its auth hook) is not on the network');
      assert.equal(await accepts(lanAddress!, rtspPort), false, 'nor MediaMTX\'s plain RTSP');
      // On loopback all of it works: MediaMTX asks the relay with the secret npm start gave both,
      // and a viewer plays the simulated robot.
      const relayUrl = `http://127.0.0.1:${relayPort}`;
      const key = { Authorization: `Bearer ${readFileSync(join(dataDir, 'dev-relay-admin-key'), 'utf8').trim()}` };
      const inv = await api(relayUrl, 'POST', '/api/invites', { robot: 'sim', role: 'viewer', ttl: '1h' }, key);
      const viewer = (await api(relayUrl, 'POST', '/api/session', { invite: (inv.json.invite as { token: string }).token })).json.token as string;
      const webrtcPort = Number(/WebRTC :(\d+)/.exec(text)![1]);
      await waitFor('the robot\'s stream to play for a viewer', () => webrtc(`http://127.0.0.1:${webrtcPort}`, 'robots/sim', 'whep', viewer), (st) => st === 201, { timeoutMs: 20_000, everyMs: 250 });
    } finally {
      try { process.kill(-child.pid!, 'SIGINT'); } catch { /* gone */ }
      await within('npm start to stop', exited, 20_000);
    }
  });
});
