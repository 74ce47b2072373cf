// Hardening of the relay: fuzzing every HTTP route and both sockets (fast-check, > 10,000 inputs),
// floods, and access abuse — brute force slowed and logged, expired and revoked tokens refused on
// the socket, the API and, through a real MediaMTX, on WHEP and WHIP; viewers never drive or talk;
// MediaMTX publishes nothing but a robot's own path. Three relays, each with the limits its part
// needs (RELAY_LIMITS): the fuzz relay has no rate limit or brake (so inputs reach the validators),
// the abuse relay a short brake, the media relay short sessions.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { CloseCode, MAX_HTTP_BODY_BYTES } from '../../protocol/limits.ts';
import { ERROR_CODES, parseClientMessage, parseRobotMessage } from '../../protocol/messages.ts';
import { parseClientToRelay, parseRobotToRelay } from '../../protocol/relay.ts';
import {
  ADMIN_KEY, Peer, admin, api, mediamtxPorts, registerRobot, robotAuth, sessionFor, startMediamtx, startRelay, stopAll,
  type MediamtxProc, type RelayProc,
} from './helpers.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
console.log(`# fast-check seed ${SEED} (FUZZ_SEED=${SEED} replays it)`);
let fuzz: RelayProc;
let fuzzPw: string;
let inputs = 0;
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const isType = (t: string) => (f: Record<string, unknown>) => f.type === t;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
      const deadline = Date.now() + 5000;
      while ((c.frames.filter(isType('error')).length - errs0 < bi || robot.frames.filter(isType('forward')).length - fwd0 < bv) && Date.now() < deadline) await sleep(10);
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
    const deadline = Date.now() + 8000;
    while (robot.frames.filter(isType('error')).length < expected && Date.now() < deadline) await sleep(10);
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
      return (await p.closed).code;
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
    await sleep(500);
    const rss1 = rssKb(fuzz.child.pid!);
    console.log(`# ${inputs} fuzz inputs; relay RSS ${Math.round(rss0 / 1024)} MB → ${Math.round(rss1 / 1024)} MB`);
    assert.ok(rss1 - rss0 < 96 * 1024, `RSS grew by ${Math.round((rss1 - rss0) / 1024)} MB`);
  });
});
