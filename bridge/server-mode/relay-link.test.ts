// The relay link's time rules on a fake clock (node:test mocks its timers and Date, which it reads):
// reconnect backoff (250 ms doubling to 2 s, back to 250 ms once connected) and dead-link detection
// (more than LINK_DEAD_MS without a sign of life, found by the LINK_PING_MS check). The relay here is
// a real WebSocket server on loopback, so each test awaits the network's events, never the clock.
// Its lifecycle (LINK_TRANSITIONS) is checked here too: the path through its states, an illegal
// move refused loudly, and stop() from every state leaving no timer of the link's behind.
// The real-time tests of the wiring (relay killed: fallback, then back by itself) are in
// bridge/test/server-mode.test.ts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, describe, it, mock, type TestContext } from 'node:test';
import type { WebSocket } from 'ws';
import { createLogger, setLogLevel } from '../../common/log.ts';
import { IllegalTransition, type Timers } from '../../common/state-machine.ts';
import { fakeTime, relay, relayOnFakeClock, robotSideClosed } from './test/fake-relay.ts';
import { LINK_DEAD_MS, LINK_MAX_BACKOFF_MS, LINK_MIN_BACKOFF_MS, LINK_PING_MS, RelayLink, type RelayLinkState } from './relay-link.ts';

setLogLevel('error');

function link(t: TestContext, url: string) {
  const l = new RelayLink({ url, authorization: 'Basic c2ltOnB3', log: createLogger('test') });
  t.after(() => l.stop());
  // Counts connection attempts: connect() is called by the retry timer, synchronously.
  const connects = t.mock.method(l as unknown as { connect: () => void }, 'connect');
  const downs: { reason: string; at: number }[] = [];
  l.on('down', (reason: string) => downs.push({ reason, at: Date.now() }));
  return { l, attempts: () => connects.mock.callCount(), downs };
}

describe('RelayLink time rules (fake clock)', () => {
  it(`retries a refusing relay after ${LINK_MIN_BACKOFF_MS} ms, doubling to ${LINK_MAX_BACKOFF_MS} ms, and from ${LINK_MIN_BACKOFF_MS} ms again after a connection`, { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    const r = await relay(t);
    const { l, attempts } = link(t, r.url);
    /** After a failed attempt the link waits exactly `ms`, then tries again. */
    const retriesAfter = (ms: number) => {
      const n = attempts();
      clock.advance(ms - 1);
      assert.equal(attempts(), n, `no new attempt 1 ms before ${ms} ms`);
      clock.advance(1);
      assert.equal(attempts(), n + 1, `a new attempt at ${ms} ms`);
    };
    let down = once(l, 'down');
    l.start();
    for (const ms of [250, 500, 1000, 2000, 2000]) {
      const [reason] = await down as [string];
      assert.match(reason, /HTTP 503/);
      down = once(l, 'down');
      retriesAfter(ms);
    }
    // The relay is back: the next attempt connects, and a later loss starts from the minimum.
    await down;
    r.state.refusing = false;
    const accepted = r.connected();
    const up = once(l, 'up');
    retriesAfter(2000);
    const ws = await accepted;
    await up;
    down = once(l, 'down');
    r.state.refusing = true;
    const closed = once(ws, 'close');
    ws.close(1012, 'relay restarting');
    await Promise.all([down, closed]);
    down = once(l, 'down');
    retriesAfter(250);
    // Nothing of this test may still run once it is over: node:test's mock timers are global, and a
    // socket closing later would clear its (fake) timer in the next test's clock.
    await down;
    l.stop();
  });

  it(`declares a silent relay dead at the first check (every ${LINK_PING_MS} ms) after more than ${LINK_DEAD_MS} ms without a sign of life`, { timeout: 20_000 }, async (t) => {
    const { clock, r } = await relayOnFakeClock(t);
    const { l, downs } = link(t, r.url);
    const accepted = r.connected();
    const up = once(l, 'up');
    l.start();
    const ws = await accepted;
    await up; // last sign of life: the connection itself, at fake time 0
    // A ping from the relay at 100 ms is a sign of life; its pong comes back after the link noted it.
    clock.advance(100);
    const pong = once(ws, 'pong');
    ws.ping();
    await pong;
    clock.advance(1500); // checks at 400, 800, 1200, 1600: the last sees exactly 1500 ms of silence
    assert.equal(l.isUp, true, 'silent for exactly LINK_DEAD_MS: still up');
    clock.advance(399);
    assert.equal(l.isUp, true);
    clock.advance(1);
    assert.deepEqual(downs, [{ reason: `relay silent for ${LINK_DEAD_MS} ms`, at: 2000 }]);
    assert.equal(l.isUp, false);
    const closed = once(ws, 'close'); // the link cut the socket: let that finish within this test
    l.stop();
    await closed;
  });
});

/** The link's private parts a lifecycle test looks at. */
const inside = (l: RelayLink) => l as unknown as { timers: Timers; machine: { to(s: RelayLinkState): boolean }; ws: WebSocket | null };

describe('RelayLink lifecycle (fake clock)', () => {
  // A fake timer cleared after its test is over can remove the next clock's first timer.
  afterEach(() => mock.timers.reset());

  it('walks idle → connecting → up → retrying → connecting → up → stopped', { timeout: 20_000 }, async (t) => {
    const { clock, r } = await relayOnFakeClock(t);
    const { l } = link(t, r.url);
    const seen: RelayLinkState[] = [l.state];
    l.on('up', () => seen.push(l.state));
    l.on('down', () => seen.push(l.state));
    let accepted = r.connected();
    l.start();
    seen.push(l.state);
    const ws = await accepted;
    await once(l, 'up');
    accepted = r.connected();
    ws.close(1012, 'relay restarting');
    await once(l, 'down');
    clock.advance(LINK_MIN_BACKOFF_MS);
    seen.push(l.state);
    const again = await accepted;
    await once(l, 'up');
    // The relay's end of the socket: the link's own end loses its listeners when it is stopped.
    const closed = once(again, 'close');
    const mine = inside(l).ws;
    l.stop();
    seen.push(l.state);
    await Promise.all([closed, robotSideClosed(mine)]);
    // 'down' on stop too, reported once the link is already stopped.
    assert.deepEqual(seen, ['idle', 'connecting', 'up', 'retrying', 'connecting', 'up', 'stopped', 'stopped']);
    assert.equal(inside(l).timers.size, 0);
  });

  it('refuses an illegal transition loudly (it throws under node:test) and keeps its state', () => {
    const l = new RelayLink({ url: 'ws://127.0.0.1:9/ws/robot/sim', authorization: 'Basic c2ltOnB3', log: createLogger('test') });
    assert.throws(() => inside(l).machine.to('up'), IllegalTransition);
    assert.equal(l.state, 'idle');
    assert.equal(l.isUp, false);
  });

  for (const from of ['idle', 'connecting', 'up', 'retrying', 'stopped'] as const) {
    it(`stop() from ${from} leaves no timer and no later attempt`, { timeout: 20_000 }, async (t) => {
      const clock = fakeTime(t);
      const r = await relay(t);
      r.state.refusing = from === 'retrying';
      r.state.holding = from === 'connecting';
      const { l, attempts } = link(t, r.url);
      const events: string[] = [];
      l.on('up', () => events.push('up'));
      /** The relay's end of the link's socket, when there is one. */
      let relaySide: import('node:events').EventEmitter | null = null;
      if (from !== 'idle') {
        const accepted = from === 'up' ? r.connected() : from === 'connecting' ? r.upgrade() : null;
        const reached = from === 'up' ? once(l, 'up') : from === 'retrying' ? once(l, 'down') : null;
        l.start();
        relaySide = await accepted;
        await reached;
        if (from === 'stopped') l.stop();
      }
      assert.equal(l.state, from);
      // A held upgrade is a bare TCP socket, left half-open by the relay: its end is the sign.
      const closed = relaySide ? once(relaySide, from === 'connecting' ? 'end' : 'close') : null;
      const tries = attempts();
      const mine = inside(l).ws;
      l.stop();
      assert.equal(l.state, 'stopped');
      assert.equal(inside(l).timers.size, 0, 'no retry or ping timer');
      await Promise.all([closed, robotSideClosed(mine)]); // both ends close within this test
      clock.advance(3 * LINK_MAX_BACKOFF_MS);
      assert.equal(attempts(), tries, 'no attempt after stop()');
      assert.deepEqual(events, from === 'up' ? ['up'] : []);
    });
  }
});
