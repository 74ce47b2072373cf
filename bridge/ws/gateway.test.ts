// The real-time test of the message rate limit's wiring: a bridge in this process (no hardware but
// a motor stand-in) and a real WebSocket client. The rule itself, exactly at its boundaries, is on a
// fake clock in session.test.ts.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { createLogger, setLogLevel } from '../../common/log.ts';
import { waitFor, within } from '../../common/wait.ts';
import { CloseCode, MAX_MESSAGES_PER_SECOND } from '../../protocol/limits.ts';
import { createBridge } from '../app.ts';
import type { Hardware } from '../hardware/parts.ts';
import type { MotorState, Motors } from '../hardware/types.ts';

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
    const dataDir = mkdtempSync(join(tmpdir(), 'havatar-gateway-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const bridge = await createBridge({ dataDir, httpPort: 0, httpsPort: null, staticDir: null, operatorToken: TOKEN, hardware, log: createLogger('test') });
    t.after(() => bridge.close());
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.httpPort}/ws?token=${TOKEN}`);
    const received: { type: string; code?: string }[] = [];
    ws.on('message', (d) => received.push(JSON.parse(String(d)) as { type: string; code?: string }));
    const closed = once(ws, 'close').then(([code]) => code as number);
    await within('the WebSocket to open', once(ws, 'open'), 5000);
    await waitFor('the welcome', () => received.map((m) => m.type), (types) => types.includes('welcome'));
    // Twice the limit and one more, in one burst: however the burst falls across the fixed
    // one-second windows, one window holds more than the limit (as long as it all arrives within
    // a second, which a burst of small frames on loopback does with room to spare).
    for (let i = 0; i <= 2 * MAX_MESSAGES_PER_SECOND; i++) ws.send(JSON.stringify({ v: 1, type: 'heartbeat', t: Date.now() }));
    assert.equal(await within('the bridge to close the socket', closed, 5000), CloseCode.rateLimited);
    assert.ok(received.some((m) => m.type === 'error' && m.code === 'rate_limited'), `no rate_limited error in ${JSON.stringify(received.slice(-3))}`);
  });
});
