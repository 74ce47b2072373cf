// The WebSocket endpoint's limits against a bridge in this process (no hardware but a motor
// stand-in) and real WebSocket clients: the message rate limit's wiring (the rule itself, exactly at
// its boundaries, is on a fake clock in session.test.ts), and the ping rule that cuts off dead
// connections, on a fake clock and once in real time.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { createLogger, setLogLevel } from '../../common/log.ts';
import { waitFor, within } from '../../common/wait.ts';
import { CloseCode, MAX_MESSAGES_PER_SECOND } from '../../protocol/limits.ts';
import { createBridge, type BridgeOptions } from '../app.ts';
import type { Hardware } from '../hardware/parts.ts';
import type { MotorState, Motors } from '../hardware/types.ts';
import { PING_INTERVAL_MS } from './gateway.ts';

setLogLevel('error');
const TOKEN = 'gateway-test-token-0123456789abcdef';

class StandInMotors extends EventEmitter implements Motors {
  readonly state: MotorState = { left: 0, right: 0, connected: true, watchdogTripped: false, battery: null, port: 'none', framesSent: 0, framesRejected: 0 };
  async open(): Promise<void> {}
  async set(): Promise<{ seq: number; rttMs: number }> { return { seq: 0, rttMs: 0 }; }
  async stop(): Promise<void> {}
  async close(): Promise<void> {}
}

const hardware: Hardware = {
  motors: new StandInMotors(), video: null, mic: null, speaker: null, tts: null, pose: null, problems: {},
  close: async () => {},
};

describe('WebSocket rate limit (real time)', () => {
  it(`a client sending more than ${MAX_MESSAGES_PER_SECOND} messages within a second gets rate_limited and is closed`, { timeout: 30_000 }, async (t) => {
    const bridge = await startBridge(t);
    t.after(() => bridge.close());
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.httpPort}/ws?token=${TOKEN}`);
    const received: { type: string; code?: string }[] = [];
    ws.on('message', (d) => received.push(JSON.parse(String(d)) as { type: string; code?: string }));
    const closed = once(ws, 'close').then(([code]) => code as number);
    await within('the WebSocket to open', once(ws, 'open'), 5000);
    await waitFor('the welcome', () => received.map((m) => m.type), (types) => types.includes('welcome'));
    // Twice the limit and one more, in one burst: more than the bucket's burst plus what it refills
    // in a second (as long as it all arrives within a second, which a burst of small frames on
    // loopback does with room to spare).
    for (let i = 0; i <= 2 * MAX_MESSAGES_PER_SECOND; i++) ws.send(JSON.stringify({ v: 1, type: 'heartbeat', t: Date.now() }));
    assert.equal(await within('the bridge to close the socket', closed, 5000), CloseCode.rateLimited);
    assert.ok(received.some((m) => m.type === 'error' && m.code === 'rate_limited'), `no rate_limited error in ${JSON.stringify(received.slice(-3))}`);
  });
});

async function startBridge(t: TestContext, opts: Partial<BridgeOptions> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-gateway-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  return createBridge({ dataDir, httpPort: 0, httpsPort: null, staticDir: null, operatorToken: TOKEN, hardware, log: createLogger('test'), ...opts });
}

/** A connected client that has had its welcome; `autoPong: false` makes one that never answers pings. */
async function client(port: number, autoPong = true) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${TOKEN}`, { autoPong });
  const received: { type: string }[] = [];
  ws.on('message', (d) => received.push(JSON.parse(String(d)) as { type: string }));
  const closed = once(ws, 'close').then(([code]) => code as number);
  await within('the WebSocket to open', once(ws, 'open'), 5000);
  await waitFor('the welcome', () => received.map((m) => m.type), (types) => types.includes('welcome'));
  /**
   * A round trip: an invalid frame, answered with an error. Frames on one socket are handled in
   * order, so once the answer is here the bridge has also handled everything sent before (a pong).
   */
  const roundTrip = async () => {
    const n = received.filter((m) => m.type === 'error').length;
    ws.send('not json');
    await waitFor('the error answering an invalid frame', () => received.filter((m) => m.type === 'error').length, (k) => k > n);
  };
  return { ws, closed, roundTrip };
}

describe('dead connections (fake clock for the pings)', () => {
  it(`a connection that has not answered a ping by the next one (every ${PING_INTERVAL_MS} ms) is cut off then, and one that answers stays`, { timeout: 30_000 }, async (t) => {
    // Only setInterval is fake: the gateway's ping (and telemetry) timers. The sockets are real.
    t.mock.timers.enable({ apis: ['setInterval'] });
    const bridge = await startBridge(t);
    const deaf = await client(bridge.httpPort, false);
    const answering = await client(bridge.httpPort);
    const pinged = Promise.all([once(deaf.ws, 'ping'), once(answering.ws, 'ping')]);
    t.mock.timers.tick(PING_INTERVAL_MS);
    await within('the first ping at both clients', pinged, 5000);
    await answering.roundTrip(); // its automatic pong has reached the bridge
    t.mock.timers.tick(PING_INTERVAL_MS - 1);
    await deaf.roundTrip(); // 1 ms before the next ping the silent one is still served
    t.mock.timers.tick(1);
    assert.equal(await within('the silent connection cut off', deaf.closed, 5000), 1006, 'terminated, not closed politely');
    await answering.roundTrip();
    await bridge.close(); // within the test: its intervals are this test's fake ones
  });
});

describe('dead connections (real time)', () => {
  it('the bridge cuts off a connection that never answers its pings', { timeout: 30_000 }, async (t) => {
    const bridge = await startBridge(t, { pingIntervalMs: 200 });
    t.after(() => bridge.close());
    const deaf = await client(bridge.httpPort, false);
    assert.equal(await within('the silent connection cut off', deaf.closed, 5000), 1006);
  });
});
