// A connection's limits on a fake clock: messages per second (text and binary counted apart, each a
// token bucket with a second's worth of burst: common/token-bucket.ts) and the cut-off of a peer
// that never answers the close handshake.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import { CloseCode, MAX_MESSAGES_PER_SECOND } from '../../protocol/limits.ts';
import { MAX_BINARY_FRAMES_PER_SECOND, Session } from './session.ts';

/** The few WebSocket members Session uses, recording what it does. */
function fakeSocket() {
  const calls: string[] = [];
  const ws = {
    OPEN: 1, readyState: 1, bufferedAmount: 0,
    send: (d: unknown) => calls.push(`send ${String(d).slice(0, 40)}`),
    close: (code: number) => calls.push(`close ${code}`),
    terminate: () => calls.push('terminate'),
    once: () => ws,
  };
  return { ws: ws as unknown as WebSocket, calls };
}

const T0 = 1_700_000_000_000;
const session = () => new Session(fakeSocket().ws, false, '127.0.0.1', T0);

/** Frames within the limit pass; returns the verdicts of `n` frames all at time `at`. */
const burst = (s: Session, binary: boolean, n: number, at: number) => Array.from({ length: n }, () => s.withinRate(binary, at));

describe('Session rate limits (injected time)', () => {
  it(`a burst of ${MAX_MESSAGES_PER_SECOND} text messages passes, the next one only once a token has refilled`, () => {
    const s = session();
    assert.ok(burst(s, false, MAX_MESSAGES_PER_SECOND, T0).every(Boolean));
    const oneToken = 1000 / MAX_MESSAGES_PER_SECOND;
    assert.equal(s.withinRate(false, T0 + Math.floor(oneToken)), false, 'just before one token has refilled');
    assert.equal(s.withinRate(false, T0 + Math.ceil(oneToken)), true, 'one token later');
  });

  it('a driver sending steadily at the limit is never refused; twice the limit is, within a second', () => {
    const s = session();
    for (let i = 0; i < 10 * MAX_MESSAGES_PER_SECOND; i++) {
      assert.equal(s.withinRate(false, T0 + Math.ceil((i * 1000) / MAX_MESSAGES_PER_SECOND)), true, `message ${i}`);
    }
    const fast = session();
    const verdicts = Array.from({ length: 2 * MAX_MESSAGES_PER_SECOND }, (_, i) => fast.withinRate(false, T0 + Math.floor((i * 500) / MAX_MESSAGES_PER_SECOND)));
    assert.ok(verdicts.includes(false));
  });

  it(`binary (audio) frames have their own budget of ${MAX_BINARY_FRAMES_PER_SECOND} a second`, () => {
    const s = session();
    assert.ok(burst(s, false, MAX_MESSAGES_PER_SECOND, T0).every(Boolean));
    assert.ok(burst(s, true, MAX_BINARY_FRAMES_PER_SECOND, T0).every(Boolean), 'text did not use the audio budget');
    assert.equal(s.withinRate(true, T0), false);
    assert.equal(s.withinRate(false, T0), false, 'nor audio the text one');
    assert.equal(s.withinRate(true, T0 + 1000 / MAX_BINARY_FRAMES_PER_SECOND), true);
  });
});

describe('Session close (fake clock)', () => {
  it('a peer that does not finish the close handshake is terminated exactly 2 s later', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { ws, calls } = fakeSocket();
    const s = new Session(ws, false, '127.0.0.1');
    s.close(CloseCode.rateLimited, 'rate limited');
    s.close(CloseCode.rateLimited, 'again'); // once only
    assert.deepEqual(calls, [`close ${CloseCode.rateLimited}`]);
    t.mock.timers.tick(1999);
    assert.equal(calls.includes('terminate'), false);
    t.mock.timers.tick(1);
    assert.deepEqual(calls, [`close ${CloseCode.rateLimited}`, 'terminate']);
    s.send({ v: 1, type: 'pong' } as never);
    assert.equal(calls.length, 2, 'nothing is sent on a closed session');
  });
});
