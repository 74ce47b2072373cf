// Hardening of the relay: fuzzing every HTTP route and both sockets (fast-check, > 10,000 inputs),
// floods, and access abuse — brute force slowed and logged, expired and revoked tokens refused on
// the socket, the API and, through a real MediaMTX, on WHEP and WHIP; viewers never drive or talk;
// MediaMTX publishes nothing but a robot's own path. Three relays, each with the limits its part
// needs (RELAY_LIMITS): the fuzz relay has no rate limit or brake (so inputs reach the validators),
// the abuse relay a short brake, the media relay none (the expiring session gets a short invite).
// Every wait is for an outcome (frames, a close, a log line), never a guessed time; the brake's
// exact delays and the expiries are tested on a fake clock in access.unit.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CloseCode, MAX_HTTP_BODY_BYTES } from '../../protocol/limits.ts';
import { ERROR_CODES, parseClientMessage, parseRobotMessage } from '../../protocol/messages.ts';
import { parseClientToRelay, parseRobotToRelay } from '../../protocol/relay.ts';
import { waitFor, within } from '../../common/wait.ts';
import {
  ADMIN_KEY, HOOK_SECRET, Peer, admin, api, mediamtxPorts, registerRobot, robotAuth, sessionFor, startMediamtx, startRelay, stopAll,
  type MediamtxProc, type RelayProc,
} from './helpers.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
console.log(`# fast-check seed ${SEED} (FUZZ_SEED=${SEED} replays it)`);
let fuzz: RelayProc;
let fuzzPw: string;
let inputs = 0;
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const isType = (t: string) => (f: Record<string, unknown>) => f.type === t;
const sample = <T>(arb: fc.Arbitrary<T>, n: number, k = 0) => fc.sample(arb, { numRuns: n, seed: SEED + k });

before(async () => {
  fuzz = await startRelay({ env: { RELAY_LIMITS: JSON.stringify({ messagesPerSecond: 1e6, messageBurst: 1e6, authFailLockAfter: 1e9, authFailBaseDelayMs: 1, authFailMaxDelayMs: 1, maxClientsPerRobot: 500 }) } });
  fuzzPw = await registerRobot(fuzz.url, 'fz');
});
after(stopAll);

// ---- generators ----------------------------------------------------------------------------

const weird = fc.oneof(
  fc.double(), fc.integer(), fc.constantFrom(1e308, -1e308, 2 ** 53, -0, 0.5, -1.0000001, 1.0000001, 2 ** 32), fc.string(), fc.string({ minLength: 60, maxLength: 600 }),
  fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const CLIENT_TYPES = ['drive', 'motor', 'stop', 'heartbeat', 'tts', 'talk', 'fly', '', 'DRIVE'] as const;
const FIELDS = ['seq', 'left', 'right', 'ttl', 't', 'direction', 'speed', 'id', 'text', 'action', 'name', 'want', 'extra'];
const validDrive = fc.record({ v: fc.constant(1), type: fc.constant('drive'), seq: fc.nat(2 ** 32 - 1), left: fc.double({ min: -1, max: 1, noNaN: true }), right: fc.double({ min: -1, max: 1, noNaN: true }), ttl: fc.integer({ min: 1, max: 1000 }), t: fc.nat() });
/** Mostly near-valid messages: a real type with a few fields of the wrong kind, missing or extra. */
const mutated = fc.record({
  v: fc.oneof(fc.constant(1), fc.constant(1), fc.constant(2), weird), type: fc.constantFrom(...CLIENT_TYPES),
  fields: fc.dictionary(fc.constantFrom(...FIELDS), weird, { maxKeys: 5 }),
}).map(({ v, type, fields }) => JSON.stringify({ v, type, ...fields }));
const truncated = fc.tuple(validDrive, fc.nat()).map(([m, k]) => { const s = JSON.stringify(m); return s.slice(0, k % s.length); });
const nearLimit = fc.integer({ min: 3900, max: 4300 }).map((n) => JSON.stringify({ v: 1, type: 'tts', id: 'big', text: 'é'.repeat(n / 2) }));
const clientText = fc.oneof(
  { arbitrary: mutated, weight: 5 }, { arbitrary: validDrive.map((m) => JSON.stringify(m)), weight: 2 },
  { arbitrary: fc.jsonValue().map((j) => JSON.stringify(j)), weight: 2 }, { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }), weight: 1 },
  { arbitrary: truncated, weight: 1 }, { arbitrary: nearLimit, weight: 1 },
  { arbitrary: fc.constantFrom('{"v":1,"type":"stop"}', '{"v":1,"type":"heartbeat","t":1}', '{"v":1,"type":"talk","action":"start"}', '{"v":1,"type":"tts","id":"a","text":"hi"}'), weight: 1 },
);

/** The oracle: what the relay must think of a text frame (decoded as the relay decodes it). */
const asSent = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
/** Valid frames that change the session or the lease (not forwarded): left out of the counting fuzz. */
const stateful = (s: string) => { const r = parseClientToRelay(asSent(s)); return r.ok && ['lease', 'hello', 'refresh'].includes(r.value.type); };

describe('fuzz (fast-check) — the relay keeps serving and refuses every invalid input clearly', () => {
  let rss0 = 0;
  before(async () => { await api(fuzz.url, 'GET', '/health'); rss0 = rssKb(fuzz.child.pid!); });

  test('client socket: every invalid frame gets an error frame, the robot receives only valid commands', async () => {
    const robot = await Peer.open(`${fuzz.ws}/ws/robot/fz`, robotAuth('fz', fuzzPw));
    const token = await sessionFor(fuzz.url, 'fz', 'driver');
    const c = await Peer.open(`${fuzz.ws}/ws/client/fuzzer?token=${token}`);
    c.send({ v: 1, type: 'lease', action: 'take' });
    await c.next((f) => f.type === 'lease' && f.you === true);
    const frames = sample(clientText, 6000).filter((s) => !stateful(s));
    const binaries = sample(fc.uint8Array({ minLength: 0, maxLength: 300 }), 200, 1);
    let invalid = 0, valid = 0;
    const validSent = new Set<string>();
    const BATCH = 250;
    for (let i = 0; i < frames.length; i += BATCH) {
      const errs0 = c.frames.filter(isType('error')).length;
      const fwd0 = robot.frames.filter(isType('forward')).length;
      let bi = 0, bv = 0;
      for (const s of frames.slice(i, i + BATCH)) {
        const r = parseClientToRelay(asSent(s));
        if (r.ok) { bv++; validSent.add(JSON.stringify(r.value)); } else bi++;
        c.ws.send(s);
      }
      for (const b of binaries.slice((i / BATCH) * 8, (i / BATCH) * 8 + 8)) { c.ws.send(b, { binary: true }); bi++; }
      invalid += bi; valid += bv;
      await waitFor(`batch ${i}: ${bi} error frames and ${bv} forwarded commands`, () => ({
        errors: c.frames.filter(isType('error')).length - errs0, forwards: robot.frames.filter(isType('forward')).length - fwd0,
        socket: c.ws.readyState, last: c.frames.slice(-2),
      }), (n) => n.errors >= bi && n.forwards >= bv, { timeoutMs: 5000, everyMs: 10 });
      assert.equal(c.frames.filter(isType('error')).length - errs0, bi, `batch ${i}: one error frame per invalid frame`);
      assert.equal(robot.frames.filter(isType('forward')).length - fwd0, bv, `batch ${i}: every valid command forwarded once`);
    }
    inputs += frames.length + binaries.length;
    for (const f of robot.frames.filter(isType('forward'))) {
      assert.ok(parseClientMessage(f.msg).ok, `robot got an invalid command ${JSON.stringify(f)}`);
      assert.ok(validSent.has(JSON.stringify(f.msg)), `robot got a command nobody sent validly ${JSON.stringify(f.msg)}`);
    }
    for (const e of c.frames.filter(isType('error'))) {
      assert.ok(parseRobotMessage(e).ok && (ERROR_CODES as readonly string[]).includes(String(e.code)), `error frame ${JSON.stringify(e)}`);
    }
    console.log(`# client socket: ${valid} valid forwarded, ${invalid} invalid refused with error frames`);
    c.close(); robot.close();
  });

  test('robot socket: every invalid frame gets an error frame', async () => {
    const pw = await registerRobot(fuzz.url, 'fz-robot');
    const robot = await Peer.open(`${fuzz.ws}/ws/robot/fz-robot`, robotAuth('fz-robot', pw));
    const ROBOT_TYPES = ['ack', 'telemetry', 'heartbeat_ack', 'to', 'stopped', 'error', 'tts_result', 'welcome', 'lease', 'x'];
    const rfields = ['seq', 't', 'result', 'client', 'msg', 'battery', 'motors', 'serial', 'ts', 'code', 'message', 'reason', 'at', 'id', 'ok'];
    const robotText = fc.oneof(
      fc.record({ v: fc.oneof(fc.constant(1), weird), type: fc.constantFrom(...ROBOT_TYPES), fields: fc.dictionary(fc.constantFrom(...rfields), weird, { maxKeys: 5 }) })
        .map(({ v, type, fields }) => JSON.stringify({ v, type, ...fields })),
      fc.jsonValue().map((j) => JSON.stringify(j)), fc.string({ unit: 'binary', maxLength: 60 }),
      fc.nat().map((t) => JSON.stringify({ v: 1, type: 'heartbeat_ack', t })),
    );
    const frames = sample(robotText, 3000, 2);
    let expected = 0;
    for (const s of frames) { if (!parseRobotToRelay(asSent(s)).ok) expected++; robot.ws.send(s); }
    await waitFor(`${expected} error frames for the robot`, () => robot.frames.filter(isType('error')).length, (n) => n >= expected, { timeoutMs: 8000, everyMs: 10 });
    assert.equal(robot.frames.filter(isType('error')).length, expected);
    inputs += frames.length;
    robot.close();
  });

  test('invalid UTF-8 in text frames closes with 1007; truncated and unmasked raw frames close the socket; the relay keeps serving', async () => {
    const token = await sessionFor(fuzz.url, 'fz', 'viewer');
    const bad = sample(fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.concat([Buffer.from('{"v":1,"type":"stop","x":"'), Buffer.from(a), Buffer.from([0xc3, 0x28, 0xff])])), 40, 3);
    const codes = await Promise.all(bad.map(async (b, i) => {
      const p = await Peer.open(`${fuzz.ws}/ws/client/utf8-${i}?token=${token}`);
      p.ws.send(b, { binary: false }); // raw bytes as a text frame
      return (await within(`the relay to close utf8-${i}`, p.closed)).code;
    }));
    assert.deepEqual(new Set(codes), new Set([1007]));
    // Raw frames after a real handshake: truncated payloads, unmasked frames, bad opcodes.
    const raw = sample(fc.record({ op: fc.constantFrom(0x1, 0x2, 0x3, 0x8, 0x9, 0xf), masked: fc.boolean(), claim: fc.integer({ min: 0, max: 70000 }), body: fc.uint8Array({ maxLength: 64 }) }), 60, 4);
    await Promise.all(raw.map((r, i) => new Promise<void>((resolve, reject) => {
      const s = connect(fuzz.port, '127.0.0.1');
      s.setTimeout(5000, () => { s.destroy(); reject(new Error('raw socket not closed by the relay')); });
      s.once('connect', () => s.write(`GET /ws/client/raw-${i}?token=${token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
      let upgraded = false;
      s.on('data', (d) => {
        if (upgraded || !d.toString('latin1').startsWith('HTTP/1.1 101')) return;
        upgraded = true;
        const len = r.claim < 126 ? [r.claim] : r.claim < 65536 ? [126, r.claim >> 8, r.claim & 255] : [127, 0, 0, 0, 0, 0, r.claim >> 16, (r.claim >> 8) & 255, r.claim & 255];
        const head = Buffer.from([0x80 | r.op, (r.masked ? 0x80 : 0) | len[0]!, ...len.slice(1), ...(r.masked ? [1, 2, 3, 4] : [])]);
        s.end(Buffer.concat([head, Buffer.from(r.body.slice(0, Math.max(0, r.claim - 1)))])); // always short of the claim, or unmasked
      });
      s.on('error', () => {});
      s.once('close', () => resolve());
    })));
    inputs += bad.length + raw.length;
    assert.equal((await api(fuzz.url, 'GET', '/health')).status, 200);
  });

  test('every HTTP route: wrong types, huge values, bad JSON and oversized bodies get a clear 4xx JSON error', async () => {
    const routes: [string, string][] = [
      ['GET', '/health'], ['GET', '/api/status'], ['GET', '/metrics'], ['POST', '/api/robot/register'], ['POST', '/api/invites'],
      ['DELETE', '/api/invites/x'], ['POST', '/api/session'], ['POST', '/api/session/refresh'], ['DELETE', '/api/session'],
      ['DELETE', '/api/sessions/x'], ['POST', '/mediamtx/auth'], ['PUT', '/api/invites'], ['GET', '/nope/../../etc/passwd'],
    ];
    const body = fc.oneof(
      fc.jsonValue().map((j) => JSON.stringify(j)),
      fc.record({ robot: weird, role: fc.oneof(fc.constantFrom('driver', 'viewer'), weird), ttl: weird, invite: weird, action: weird, path: weird, password: weird, token: weird, query: weird }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      fc.string({ unit: 'binary', maxLength: 100 }), truncated,
      fc.integer({ min: MAX_HTTP_BODY_BYTES - 10, max: MAX_HTTP_BODY_BYTES + 2000 }).map((n) => JSON.stringify({ robot: 'x'.repeat(n) })),
    );
    const auth = fc.oneof(fc.constant(undefined), fc.constant(`Bearer ${ADMIN_KEY}`), fc.constant('Bearer hs_guess'), fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), fc.constant('Basic Zm9vOmJhcg=='));
    const cases = sample(fc.tuple(fc.constantFrom(...routes), body, auth, fc.boolean()), 2600, 5);
    const statuses = new Map<number, number>();
    let i = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (i < cases.length) {
        const [[method, path], b, a, withBody] = cases[i++]!;
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (a) headers.Authorization = a;
        const r = await fetch(fuzz.url + path, { method, headers, body: withBody && method !== 'GET' ? b : undefined });
        const text = await r.text();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        assert.ok(r.status < 500, `${method} ${path} → ${r.status} ${text}`);
        if (r.status >= 400) {
          const j = JSON.parse(text) as { ok: boolean; error: string; msg: string };
          assert.equal(j.ok, false);
          assert.ok(typeof j.error === 'string' && typeof j.msg === 'string', text);
        }
      }
    }));
    // Far beyond the body limit, streamed: refused (413) or cut off, never buffered.
    for (let k = 0; k < 5; k++) {
      const r = await fetch(`${fuzz.url}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: Buffer.alloc(4 * 1024 * 1024, 0x61) }).catch((e: Error) => e);
      if (!(r instanceof Error)) assert.equal(r.status, 413);
    }
    // Garbage that is not HTTP at all.
    const garbage = sample(fc.uint8Array({ minLength: 1, maxLength: 200 }), 100, 6);
    await Promise.all(garbage.map((g) => new Promise<void>((resolve) => {
      const s = connect(fuzz.port, '127.0.0.1', () => s.end(Buffer.from(g)));
      s.on('error', () => {}); s.setTimeout(5000, () => s.destroy()); s.once('close', () => resolve());
    })));
    inputs += cases.length + 5 + garbage.length;
    console.log(`# HTTP fuzz statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  });

  test('after more than 10,000 inputs: /health answers and memory did not grow without bound', async () => {
    assert.ok(inputs >= 10_000, `only ${inputs} inputs`);
    assert.equal((await api(fuzz.url, 'GET', '/health')).status, 200);
    // Bounded growth: within 96 MB of the start (garbage the relay has not collected yet may take
    // it above for a moment: we wait for it to come back, never for a fixed time).
    const rss1 = await waitFor('the relay\'s RSS (kB) within 96 MB of its start', () => rssKb(fuzz.child.pid!), (kb) => kb - rss0 < 96 * 1024, { timeoutMs: 3000, everyMs: 100 });
    console.log(`# ${inputs} fuzz inputs; relay RSS ${Math.round(rss0 / 1024)} MB → ${Math.round(rss1 / 1024)} MB`);
  });
});

describe('access abuse', () => {
  let abuse: RelayProc;
  before(async () => {
    abuse = await startRelay({ env: { TRUST_PROXY: '1', RELAY_LIMITS: JSON.stringify({ authFailBaseDelayMs: 25, authFailMaxDelayMs: 800, authFailLockAfter: 7 }) } });
  });

  test('brute-forcing session tokens is slowed, then refused with 429, and logged without the token', async () => {
    const guesses: string[] = [];
    const took: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const guess = `hs_${randomBytes(32).toString('base64url')}`;
      guesses.push(guess);
      const t0 = performance.now();
      const r = i % 2
        ? await api(abuse.url, 'POST', '/api/session/refresh', undefined, { Authorization: `Bearer ${guess}`, 'X-Forwarded-For': '10.0.0.1' })
        : await Peer.open(`${abuse.ws}/ws/client/bf?token=${guess}`, { headers: { 'X-Forwarded-For': '10.0.0.1' } }).then(() => ({ status: 101 }), (e: { status: number }) => ({ status: e.status }));
      took.push(performance.now() - t0);
      statuses.push(r.status);
    }
    console.log(`# brute force: statuses ${statuses.join(' ')}; answered after ${took.map((t) => Math.round(t)).join(' ')} ms`);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 401, 429, 429]);
    // Each failure is held back at least its doubled delay (25, 50, … 800 ms): a timer never fires
    // early, so these lower bounds hold however loaded the machine (1 ms for the clock's rounding).
    // Load only adds time, so the ratios between answers are not compared; the exact delays are
    // access.unit.test.ts.
    for (let i = 0; i < 7; i++) {
      const brake = Math.min(25 * 2 ** i, 800);
      assert.ok(took[i]! >= brake - 1, `failure ${i + 1} answered after ${took[i]!.toFixed(1)} ms, its brake is ${brake} ms`);
    }
    // Another address is not locked by this one.
    assert.equal((await api(abuse.url, 'POST', '/api/session/refresh', undefined, { Authorization: 'Bearer hs_x', 'X-Forwarded-For': '10.0.0.99' })).status, 401);
    // Its failure is logged after all of 10.0.0.1's lines (the relay writes them in order).
    const log = await waitFor('the relay to log the failure from 10.0.0.99', () => abuse.lines.join('\n'), (l) => /"msg":"auth failed".*"ip":"10\.0\.0\.99"/.test(l));
    assert.equal(log.match(/"msg":"auth failed"[^\n]*"ip":"10\.0\.0\.1"/g)?.length, 7, 'the seven checked guesses were logged');
    for (const g of guesses) assert.ok(!log.includes(g.slice(3)), 'a guessed token reached the log');
  });

  test('a burst of concurrent guesses is not verified past the lockout', async () => {
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      api(abuse.url, 'POST', '/api/session', { invite: `hi_${randomBytes(24).toString('base64url')}${i}` }, { 'X-Forwarded-For': '10.0.0.2' })));
    const verified = rs.filter((r) => r.status === 401).length;
    console.log(`# 30 concurrent guesses: ${verified} checked (401), ${rs.filter((r) => r.status === 429).length} refused unchecked (429)`);
    assert.ok(verified <= 7, `${verified} guesses were checked, lockout is 7`);
  });

  test('floods: a client over the message rate is closed with 4008, and the relay keeps serving', async () => {
    const token = await sessionFor(abuse.url, 'sim', 'viewer');
    const c = await Peer.open(`${abuse.ws}/ws/client/flood?token=${token}`);
    for (let i = 0; i < 500; i++) c.send({ v: 1, type: 'heartbeat', t: i });
    assert.equal((await within('the relay to close the flooding socket', c.closed)).code, CloseCode.rateLimited);
    assert.ok(c.frames.some((f) => f.type === 'error' && f.code === 'rate_limited'));
    const many = await Promise.all(Array.from({ length: 300 }, () => api(abuse.url, 'GET', '/api/status')));
    assert.ok(many.every((r) => r.status === 200));
    assert.equal((await api(abuse.url, 'GET', '/health')).status, 200);
  });
});

// ---- through a real MediaMTX ---------------------------------------------------------------------

function offer(kind: 'whep' | 'whip'): string {
  const ufrag = randomBytes(4).toString('hex'), pwd = randomBytes(12).toString('hex');
  const fp = [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const section = (media: 'video' | 'audio', mid: number, dir: string) => [
    media === 'video' ? 'm=video 9 UDP/TLS/RTP/SAVPF 96' : 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, 'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`, 'a=setup:actpass', `a=mid:${mid}`, `a=${dir}`, 'a=rtcp-mux',
    ...(media === 'video' ? ['a=rtpmap:96 H264/90000', 'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'] : ['a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1']),
    ...(dir === 'sendonly' ? [`a=msid:talk ${media}`, `a=ssrc:${1000 + mid} cname:talk`] : []),
  ].join('\r\n');
  const sections = kind === 'whep' ? [section('video', 0, 'recvonly'), section('audio', 1, 'recvonly')] : [section('audio', 0, 'sendonly')];
  return ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${kind === 'whep' ? '0 1' : '0'}`, 'a=msid-semantic: WMS', ...sections].join('\r\n') + '\r\n';
}

describe('tokens, roles and paths through a real MediaMTX', () => {
  let media: RelayProc;
  let mtx: MediamtxProc;
  let pw: string;
  before(async () => {
    const ports = await mediamtxPorts();
    media = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${ports.api}`, env: { RELAY_LIMITS: JSON.stringify({ authFailLockAfter: 1e6, authFailBaseDelayMs: 1, authFailMaxDelayMs: 1 }) } });
    pw = await registerRobot(media.url, 'sim');
    await registerRobot(media.url, 'other');
    mtx = await startMediamtx(`${media.url}/mediamtx/auth`, ports);
  });
  /** POST an offer to MediaMTX; a created session is deleted again. */
  async function webrtc(path: string, kind: 'whep' | 'whip', authorization?: string): Promise<number> {
    const r = await fetch(`http://127.0.0.1:${mtx.webrtc}/${path}/${kind}`, {
      method: 'POST', body: offer(kind), signal: AbortSignal.timeout(10_000),
      headers: { 'Content-Type': 'application/sdp', ...(authorization ? { Authorization: authorization } : {}) },
    });
    await r.text();
    const loc = r.headers.get('location');
    if (r.status === 201 && loc) await fetch(`http://127.0.0.1:${mtx.webrtc}${loc}`, { method: 'DELETE' }).catch(() => {});
    return r.status;
  }
  /** The API check goes last: a successful refresh rotates the token. */
  const everywhere = async (token: string) => {
    const whep = await webrtc('robots/sim', 'whep', `Bearer ${token}`);
    const whip = await webrtc('robots/sim/talk', 'whip', `Bearer ${token}`);
    const ws = await Peer.open(`${media.ws}/ws/client/t-${randomBytes(3).toString('hex')}?token=${token}`).then((p) => { p.close(); return 101; }, (e: { status: number }) => e.status);
    const apiStatus = (await api(media.url, 'POST', '/api/session/refresh', undefined, { Authorization: `Bearer ${token}` })).status;
    return { ws, api: apiStatus, whep, whip };
  };

  test('expired and revoked session tokens fail on the socket, the API, WHEP and WHIP; a live one passes', async () => {
    // A session ends with its invite: this one's invite lives 1.5 s (the sessions of the other
    // tests keep the default 15 min, so no test races a short lifetime).
    const EXPIRING_MS = 1500;
    const inv = await api(media.url, 'POST', '/api/invites', { robot: 'sim', role: 'driver', ttl: EXPIRING_MS }, admin);
    const inviteToken = (inv.json.invite as { token: string }).token;
    const expiring = (await api(media.url, 'POST', '/api/session', { invite: inviteToken })).json.token as string;
    const open = await Peer.open(`${media.ws}/ws/client/expiring?token=${expiring}`);
    const revoked = await sessionFor(media.url, 'sim', 'driver');
    assert.equal((await api(media.url, 'DELETE', '/api/session', undefined, { Authorization: `Bearer ${revoked}` })).status, 200);
    const live = await sessionFor(media.url, 'sim', 'driver');
    // Talk (WHIP) is the lease holder's: the live driver takes the lease first.
    const holder = await Peer.open(`${media.ws}/ws/client/live-holder?token=${live}`);
    holder.send({ v: 1, type: 'hello', want: 'driver' });
    await holder.next((f) => f.type === 'lease' && f.you === true);
    const [l, r] = await Promise.all([everywhere(live), everywhere(revoked)]);
    holder.close();
    console.log(`# live driver token: ${JSON.stringify(l)}; revoked: ${JSON.stringify(r)}`);
    assert.equal(l.ws, 101); assert.equal(l.api, 200); assert.notEqual(l.whep, 401); assert.equal(l.whip, 201);
    assert.deepEqual(r, { ws: 401, api: 401, whep: 401, whip: 401 });
    // The relay re-checks the sessions of open sockets once a second: once it has closed this one
    // for its expiry, the token is past it everywhere. (Bound: the 1.5 s lifetime and one tick.)
    const closed = await within('the relay to close the open socket of the expiring session', open.closed, EXPIRING_MS + 3000);
    assert.equal(closed.code, CloseCode.unauthorized, 'the open socket of an expired session is closed');
    const e = await everywhere(expiring);
    console.log(`# expired: ${JSON.stringify(e)}`);
    assert.deepEqual(e, { ws: 401, api: 401, whep: 401, whip: 401 });
    assert.equal((await api(media.url, 'POST', '/api/session', { invite: inviteToken })).status, 401, 'the expired invite is refused too');
  });

  test('revoking an invite ends its sessions at once, everywhere', async () => {
    // Two sessions from one invite: it is made for two uses (invites are single-use by default).
    const inv = await api(media.url, 'POST', '/api/invites', { robot: 'sim', role: 'driver', ttl: '1h', uses: 2 }, admin);
    const invite = inv.json.invite as { id: string; token: string };
    const s = await api(media.url, 'POST', '/api/session', { invite: invite.token });
    const token = s.json.token as string;
    assert.equal((await everywhere(token)).ws, 101, 'the session works before the revocation');
    const fresh = (await api(media.url, 'POST', '/api/session', { invite: invite.token })).json.token as string;
    assert.equal((await api(media.url, 'DELETE', `/api/invites/${invite.id}`, undefined, admin)).status, 200);
    assert.deepEqual(await everywhere(fresh), { ws: 401, api: 401, whep: 401, whip: 401 });
  });

  test('a viewer cannot drive or talk: refused on the socket and by MediaMTX (WHIP)', async () => {
    const robot = await Peer.open(`${media.ws}/ws/robot/sim`, robotAuth('sim', pw));
    const viewer = await sessionFor(media.url, 'sim', 'viewer');
    const v = await Peer.open(`${media.ws}/ws/client/viewer-1?token=${viewer}`);
    await v.next(isType('welcome'));
    for (const m of [{ v: 1, type: 'lease', action: 'take' }, { v: 1, type: 'hello', want: 'driver' }, { v: 1, type: 'drive', seq: 1, left: 1, right: 1, ttl: 300, t: 1 },
      { v: 1, type: 'motor', seq: 2, direction: 'forward', speed: 255, ttl: 300, t: 1 }, { v: 1, type: 'tts', id: 'a', text: 'hi' }, { v: 1, type: 'talk', action: 'start' }]) v.send(m);
    v.send({ v: 1, type: 'heartbeat', t: 7 });
    await robot.next((f) => f.type === 'forward' && (f.msg as { type: string }).type === 'heartbeat');
    // The refusals go to the viewer's socket, the heartbeat to the robot's: neither waits for the
    // other, so the last refusal (talk) is awaited before they are counted.
    await v.next((f) => f.type === 'error' && f.code === 'forbidden' && f.ref === 'talk');
    assert.equal(v.frames.filter((f) => f.type === 'error' && f.code === 'forbidden').length, 5);
    assert.ok(!robot.frames.some((f) => f.type === 'forward' && ['drive', 'motor', 'tts', 'talk'].includes((f.msg as { type: string }).type)));
    assert.ok(!robot.frames.some((f) => f.type === 'driver' && f.client === 'viewer-1'));
    const [whip, whep] = await Promise.all([webrtc('robots/sim/talk', 'whip', `Bearer ${viewer}`), webrtc('robots/sim', 'whep', `Bearer ${viewer}`)]);
    assert.ok(whip === 401 || whip === 403, `viewer WHIP → ${whip}`);
    assert.notEqual(whep, 401, 'a viewer may watch');
    v.close(); robot.close();
  });

  test('MediaMTX refuses publishing to any path but the robot\'s own', async () => {
    const basic = `Basic ${Buffer.from(`sim:${pw}`).toString('base64')}`;
    const driver = await sessionFor(media.url, 'sim', 'driver');
    const paths = ['robots/other', 'robots/sim/extra', 'live/cam', 'robots/other/talk', 'robots', 'robots/sim/talk'];
    const [own, ...others] = await Promise.all([webrtc('robots/sim', 'whip', basic), ...paths.map((p) => webrtc(p, 'whip', basic)), ...paths.slice(0, 5).map((p) => webrtc(p, 'whip', `Bearer ${driver}`))]);
    console.log(`# WHIP publish: own path ${own}; others ${others.join(' ')}`);
    assert.equal(own, 201);
    for (const s of others) assert.ok(s === 401 || s === 403 || s === 404 || s === 400, `publish elsewhere → ${s}`);
    // And the decision itself, for generated paths: only robots/sim may be published by robot sim.
    const gen = sample(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('robots/sim', 'robots/sim/', 'robots//sim', 'robots/sim/talk', 'robots/SIM', '/robots/sim', 'robots/sim/../other', 'robots/sim%2f..')), 400, 7);
    const hook = { Authorization: `Basic ${Buffer.from(`mediamtx:${HOOK_SECRET}`).toString('base64')}` };
    const ask = (path: string) => api(media.url, 'POST', '/mediamtx/auth', { ip: '127.0.0.1', user: 'sim', password: pw, token: '', action: 'publish', path, protocol: 'rtsp', id: null, query: '' }, hook);
    for (const p of gen) assert.equal((await ask(p)).status === 200, p === 'robots/sim', `publish ${JSON.stringify(p)}`);
  });
});
