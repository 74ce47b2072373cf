// Fuzz: thousands of random and malformed frames on /ws (from the driver, who could move the
// robot) and requests on the HTTP API. Afterwards the bridge still answers, and the simulator's
// record of motor frames shows the wheels never moved because of any of them.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseClientMessage } from '../../protocol/messages.ts';
import { DEFAULT_CONFIG, mergePatch, validateConfig } from '../config/schema.ts';
import { waitFor } from '../../common/wait.ts';
import { api, drive, Operator, startRig, TOKEN, type Rig } from './harness.ts';

const FRAMES_PER_CONNECTION = 20; // the bridge closes a connection after more than 20 bad frames
const WS_FRAMES = 9000;
const HTTP_REQUESTS = 1200;

const validTemplates: Record<string, unknown>[] = [
  { v: 1, type: 'drive', seq: 1, left: 1, right: 1, ttl: 300, t: 1 },
  { v: 1, type: 'motor', seq: 1, direction: 'forward', speed: 255, ttl: 300, t: 1 },
  { v: 1, type: 'heartbeat', t: 1 },
  { v: 1, type: 'lease', action: 'take' },
  { v: 1, type: 'talk', action: 'start' },
  { v: 1, type: 'tts', id: 'a', text: 'hello' },
];

/** A valid message with one thing broken: a field replaced, removed, or added; or the version. */
const mutated = fc.tuple(fc.constantFrom(...validTemplates), fc.nat(), fc.jsonValue(), fc.string({ maxLength: 12 })).map(([tpl, i, value, key]) => {
  const m: Record<string, unknown> = { ...tpl };
  const keys = Object.keys(m);
  const k = keys[i % keys.length]!;
  switch (i % 4) {
    case 0: m[k] = value; break;
    case 1: delete m[k]; break;
    case 2: m[key || 'x'] = value; break;
    case 3: m.left = 2; m.speed = 256; m.ttl = 0; break;
  }
  return JSON.stringify(m);
});

const textFrame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
  mutated,
  mutated,
  fc.constantFrom('{', '{"v":1,"type":"drive"', '\u0000\u0001', '[]', 'null', '{"v":2,"type":"drive","seq":1,"left":1,"right":1,"ttl":300,"t":1}', `{"v":1,"type":"drive","seq":1,"left":1e309,"right":1,"ttl":300,"t":1}`),
).filter((s) => !parseClientMessage(s).ok);

const binaryFrame = fc.uint8Array({ minLength: 0, maxLength: 120 }).map((b) => Buffer.from(b));
const wsFrame = fc.oneof({ weight: 5, arbitrary: textFrame.map((s) => ({ text: s })) }, { weight: 1, arbitrary: binaryFrame.map((b) => ({ bin: b })) });

const isMove = (method: string, path: string, body: string) => {
  if (method !== 'POST' || !/^\/motor\/(forward|backward|left|right)$/.test(path)) return false;
  try {
    const v = JSON.parse(body) as Record<string, unknown>;
    return Object.keys(v).length === 1 && Number.isInteger(v.speed) && (v.speed as number) >= 0 && (v.speed as number) <= 255;
  } catch { return false; }
};
const isValidConfig = (method: string, path: string, body: string) => {
  if (method !== 'POST' || path !== '/config') return false;
  try {
    const m = mergePatch(DEFAULT_CONFIG, JSON.parse(body));
    return 'value' in m && validateConfig(m.value) === null;
  } catch { return false; }
};

const httpRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path: fc.oneof(
    fc.constantFrom('/motor/forward', '/motor/left', '/motor/stop', '/motor/', '/motor/up', '/config', '/tts', '/system_status', '/auth/session', '/health', '/video', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/%00', '/motor/forward/extra'),
    fc.string({ maxLength: 30 }).map((s) => '/' + encodeURIComponent(s)),
  ),
  body: fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
    fc.record({ speed: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double(), fc.string()) }).map((v) => JSON.stringify(v)),
  ),
}).filter((r) => !isMove(r.method, r.path, r.body) && !isValidConfig(r.method, r.path, r.body) && r.path !== '/video');

describe('fuzzing the bridge', () => {
  let rig: Rig;
  before(async () => { rig = await startRig(); });
  afterEach(() => Operator.closeAll());
  after(async () => { await rig?.stop(); });

  async function assertNeverMoved(since: number) {
    const s = await rig.simState();
    assert.equal(s.targetLeft, 0);
    assert.equal(s.targetRight, 0);
    const moving = s.lastMotorFrames.filter((f) => f.at >= since && (f.left !== 0 || f.right !== 0));
    assert.deepEqual(moving, [], 'no motor frame with a non-zero speed');
  }

  test(`${WS_FRAMES} invalid WebSocket frames from the driver and ${HTTP_REQUESTS} bad HTTP requests never move the motors`, { timeout: 120_000 }, async () => {
    const started = Date.now();
    const frames = fc.sample(wsFrame, { numRuns: WS_FRAMES, seed: 42 });
    const requests = fc.sample(httpRequest, { numRuns: HTTP_REQUESTS, seed: 7 });
    const framesBefore = (await rig.simState()).framesReceived;
    let errors = 0;
    let lastCheck = Date.now();
    for (let c = 0; c * FRAMES_PER_CONNECTION < frames.length; c++) {
      const op = await Operator.connect(rig);
      op.send({ v: 1, type: 'hello', name: 'fuzzer', want: 'driver' });
      await op.next((m) => m.type === 'lease' && m.you);
      const batch = frames.slice(c * FRAMES_PER_CONNECTION, (c + 1) * FRAMES_PER_CONNECTION);
      for (const f of batch) 'text' in f ? op.ws.send(f.text) : op.ws.send(f.bin, { binary: true });
      await waitFor(`an error frame for each of ${batch.length} bad frames`, () => op.messages.filter((m) => m.type === 'error').length >= batch.length, undefined, { timeoutMs: 3000, everyMs: 2 });
      errors += op.messages.filter((m) => m.type === 'error').length;
      assert.equal(op.messages.filter((m) => m.type === 'ack' && m.result === 'applied').length, 0);
      // HTTP fuzz interleaved, so both surfaces are hit while a driver holds the lease and while none does.
      for (const r of requests.splice(0, 3)) {
        const res = await fetch(rig.http + r.path, { method: r.method, headers: { Authorization: `Bearer ${TOKEN}` }, ...(r.method === 'GET' ? {} : { body: r.body }) }).catch((e: Error) => e);
        if (res instanceof Error) assert.fail(`HTTP ${r.method} ${r.path} failed: ${res.message}`);
        await res.arrayBuffer();
        assert.ok(res.status < 500 || res.status === 503, `${r.method} ${r.path} → ${res.status}`);
      }
      await op.close();
      if (Date.now() - lastCheck > 1000) { await assertNeverMoved(started); lastCheck = Date.now(); }
    }
    assert.equal(errors, WS_FRAMES, 'every invalid frame was answered with an error');
    assert.equal(requests.length, 0);
    await assertNeverMoved(started);
    assert.ok((await rig.simState()).framesReceived > framesBefore, 'the bridge kept refreshing the board');

    // Still answering, and still able to drive: the test would see a real move.
    assert.equal((await api(rig, 'GET', '/health', undefined, {})).status, 200);
    await waitFor('the lease to be free', async () => ((await api(rig, 'GET', '/system_status')).body as { motors: { driver: unknown } }).motors.driver, (d) => d === null, 2000);
    const op = await Operator.connect(rig);
    op.send({ v: 1, type: 'lease', action: 'take' });
    await op.next((m) => m.type === 'lease' && m.you);
    const d = drive(0.5, 0.5);
    op.send(d);
    assert.equal((await op.next((m) => m.type === 'ack' && m.seq === d.seq)).result, 'applied');
    assert.equal((await rig.simState()).targetLeft, Math.round(0.5 * 255));
    await op.close();
  });
});
