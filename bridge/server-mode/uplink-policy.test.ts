// The uplink policy on a fake clock: when it steps down (a queue held too long, or drops at once),
// how long it waits after a change, when it steps back up, and how a failed step up slows the
// next try. The real throttled path is bridge/server-mode/uplink-monitor.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UplinkPolicy, uplinkLadder, type UplinkSample } from './uplink-policy.ts';

const FULL = { kbps: 1500, fps: 30, width: 1280, height: 720 };

function policy() {
  let ms = 0;
  const p = new UplinkPolicy(uplinkLadder(FULL), { now: () => ms });
  /** Samples every 100 ms for `forMs`; returns the names of the steps changed to. */
  const feed = (forMs: number, sample: UplinkSample): string[] => {
    const changes: string[] = [];
    for (let t = 0; t < forMs; t += 100) {
      ms += 100;
      const s = p.observe(sample);
      if (s) changes.push(s.name);
    }
    return changes;
  };
  /** Queued bytes that are `delayMs` of video at the current step's bitrate. */
  const queued = (delayMs: number) => Math.ceil((delayMs * p.state.shape.kbps) / 8);
  return { p, feed, queued, at: () => ms, set: (t: number) => { ms = t; } };
}

describe('uplink ladder', () => {
  it('steps bitrate first, then frame rate, then size, always to even dimensions', () => {
    const l = uplinkLadder(FULL);
    assert.deepEqual(l.map((s) => [s.kbps, s.fps, s.width, s.height]), [
      [1500, 30, 1280, 720], [900, 30, 1280, 720], [525, 30, 1280, 720], [525, 15, 1280, 720], [330, 15, 854, 480], [180, 15, 640, 360],
    ]);
  });
});

describe('UplinkPolicy (fake clock)', () => {
  it('a queue of more than 400 ms held for 1 s steps down once; a shorter spell does not', () => {
    const { p, feed, queued } = policy();
    feed(3000, { queuedBytes: 0, dropped: 0 }); // past the start's settle time
    assert.deepEqual(feed(900, { queuedBytes: queued(500), dropped: 0 }), [], 'congested for 0.9 s: not yet');
    assert.deepEqual(feed(100, { queuedBytes: 0, dropped: 0 }), [], 'cleared: the spell starts again');
    assert.deepEqual(feed(1000, { queuedBytes: queued(500), dropped: 0 }), [], '1 s counted from the first congested sample');
    assert.deepEqual(feed(100, { queuedBytes: queued(500), dropped: 0 }), ['bitrate 60 %']);
    assert.equal(p.state.step, 1);
    assert.match(p.state.reason, /^uplink congested: \d+ ms of video waiting to leave$/);
  });

  it('drops step down at once; then nothing changes for the 2 s the queue takes to drain', () => {
    const { p, feed } = policy();
    feed(3000, { queuedBytes: 0, dropped: 0 });
    assert.deepEqual(feed(100, { queuedBytes: 0, dropped: 3 }), ['bitrate 60 %']);
    assert.equal(p.state.reason, 'uplink congested: the uplink queue overflowed (packets dropped)');
    assert.deepEqual(feed(1900, { queuedBytes: 0, dropped: 9 }), [], 'settling');
    assert.deepEqual(feed(100, { queuedBytes: 0, dropped: 12 }), ['bitrate 35 %'], 'still dropping after the settle time');
  });

  it('at the bottom it stays, and says why', () => {
    const { p, feed } = policy();
    let dropped = 0;
    for (let i = 0; i < 10; i++) feed(2100, { queuedBytes: 0, dropped: ++dropped });
    assert.equal(p.state.step, 5);
    assert.equal(p.state.name, 'half size');
    assert.match(p.state.reason, /^uplink congested/);
  });

  it('steps back up after 10 s without a queue, one step at a time, to full quality', () => {
    const { p, feed } = policy();
    feed(3000, { queuedBytes: 0, dropped: 0 });
    feed(100, { queuedBytes: 0, dropped: 1 });
    feed(2000, { queuedBytes: 0, dropped: 1 }); // settling
    feed(100, { queuedBytes: 0, dropped: 2 });
    assert.equal(p.state.step, 2);
    // Clear is counted from the end of the settle time.
    assert.deepEqual(feed(2000 + 9900, { queuedBytes: 0, dropped: 2 }), [], '9.9 s clear');
    assert.deepEqual(feed(100, { queuedBytes: 0, dropped: 2 }), ['bitrate 60 %']);
    assert.match(p.state.reason, /^uplink has room: 10 s without a queue$/);
    assert.deepEqual(feed(2000 + 10_000, { queuedBytes: 0, dropped: 2 }), ['full']);
    assert.equal(p.state.reason, 'full quality (uplink has room: 10 s without a queue)');
  });

  it('a step up that the link cannot take doubles the wait before the next try', () => {
    const { p, feed } = policy();
    feed(3000, { queuedBytes: 0, dropped: 0 });
    feed(100, { queuedBytes: 0, dropped: 1 }); // down to 1
    feed(12_000, { queuedBytes: 0, dropped: 1 }); // settled, then up to 0 after 10 s clear
    assert.equal(p.state.step, 0);
    feed(2000, { queuedBytes: 0, dropped: 1 }); // settling after the step up
    assert.deepEqual(feed(100, { queuedBytes: 0, dropped: 2 }), ['bitrate 60 %'], 'down again 2.1 s after the step up');
    assert.deepEqual(feed(2000 + 19_900, { queuedBytes: 0, dropped: 2 }), [], 'now 20 s are needed');
    assert.deepEqual(feed(100, { queuedBytes: 0, dropped: 2 }), ['full']);
  });

  it('a queue between 50 and 400 ms neither steps down nor counts as room', () => {
    const { p, feed, queued } = policy();
    feed(3000, { queuedBytes: 0, dropped: 0 });
    feed(100, { queuedBytes: 0, dropped: 1 });
    assert.deepEqual(feed(30_000, { queuedBytes: queued(200), dropped: 1 }), []);
    assert.equal(p.state.step, 1);
  });
});
