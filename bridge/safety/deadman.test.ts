// The deadman's rule on a fake clock: it fires exactly `timeoutMs` after the last feed, never a
// millisecond sooner, once, and only while armed. node:test's mock timers drive its setTimeout and
// the injected `now` reads the same fake time. The real-time test of the wiring (a silent driver
// over a real WebSocket is stopped within 250 ms) is bridge/test/safety.test.ts.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Deadman } from './deadman.ts';

/** Fake time for one test: `advance` moves it 1 ms at a time, so every timer runs at the time it was due. */
function fakeClock(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let ms = 0;
  return {
    now: () => ms,
    advance(by: number) {
      for (let i = 0; i < by; i++) { ms++; t.mock.timers.tick(1); }
    },
  };
}

function deadman(t: TestContext, timeoutMs = 250) {
  const clock = fakeClock(t);
  const fired: number[] = [];
  const d = new Deadman(timeoutMs, () => fired.push(clock.now()), clock.now);
  return { d, fired, clock };
}

describe('Deadman (fake clock)', () => {
  it('fires exactly 250 ms after arming without a feed, not at 249', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    clock.advance(249);
    assert.deepEqual(fired, []);
    assert.equal(d.isArmed, true);
    clock.advance(1);
    assert.deepEqual(fired, [250]);
    assert.equal(d.isArmed, false);
  });

  it('every feed moves the deadline to 250 ms after it', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    for (let i = 0; i < 10; i++) { clock.advance(249); d.feed(); } // a driver at the edge of too slow
    assert.deepEqual(fired, []);
    clock.advance(249);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [2740]);
  });

  it('fires once, then stays quiet (feeds included) until armed again', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    clock.advance(250);
    d.feed();
    clock.advance(1000);
    assert.deepEqual(fired, [250], 'a feed does not arm it');
    d.arm();
    clock.advance(249);
    assert.deepEqual(fired, [250]);
    clock.advance(1);
    assert.deepEqual(fired, [250, 1500]);
  });

  it('disarm() cancels the pending expiry', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    clock.advance(200);
    d.disarm();
    clock.advance(1000);
    assert.deepEqual(fired, []);
    assert.equal(d.isArmed, false);
  });

  it('a changed timeout applies to the silence already running', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    clock.advance(100);
    d.setTimeout(400);
    clock.advance(299);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [400]);
    d.setTimeout(100);
    d.arm();
    clock.advance(99);
    assert.deepEqual(fired, [400]);
    clock.advance(1);
    assert.deepEqual(fired, [400, 500]);
  });
  // The rule, exactly: stopped `timeoutMs` after the driver *sent* its last sign of life. A feed
  // says how long ago it was sent; a held-up one buys no time beyond that.
  it('a sign of life sent 100 ms ago (held up in a socket) leaves 150 ms, not 250', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    clock.advance(200);
    d.feed(100); // sent at 100, arrived at 200
    clock.advance(149);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [350], '250 ms after it was sent');
  });

  it('arming with a command sent 60 ms ago fires 190 ms later', (t) => {
    const { d, fired, clock } = deadman(t);
    clock.advance(1000);
    d.arm(60);
    clock.advance(189);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [1190]);
  });

  it('an older sign of life arriving after a newer one does not move the deadline earlier', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    clock.advance(100);
    d.feed(); // sent at 100
    d.feed(90); // sent at 10, arrived late
    clock.advance(249);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [350]);
  });

  it('re-armed after firing, an old deadline is forgotten: counted from the new command', (t) => {
    const { d, fired, clock } = deadman(t);
    d.arm();
    clock.advance(250);
    assert.deepEqual(fired, [250]);
    clock.advance(500);
    d.arm(20);
    clock.advance(229);
    assert.deepEqual(fired, [250]);
    clock.advance(1);
    assert.deepEqual(fired, [250, 980]);
  });
});
