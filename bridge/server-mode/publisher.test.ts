// The publisher's retry rule on a fake clock: a refused publish is tried again after 300 ms, the
// pause doubling up to 2 s. node:test mocks the timers; the refusals are real (nothing listens on
// the port), so the test awaits each 'down' event, never the clock. The real-time test of the wiring
// (MediaMTX killed, live again by itself) is in bridge/test/server-mode.test.ts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createLogger, setLogLevel } from '../../common/log.ts';
import type { VideoTap } from '../hardware/parts.ts';
import type { Timers } from '../../common/state-machine.ts';
import { Publisher, PUBLISH_MAX_BACKOFF_MS, PUBLISH_MIN_BACKOFF_MS } from './publisher.ts';
import { freePort } from '../../scripts/stack.ts';

setLogLevel('error');

const tap: VideoTap = {
  info: { kind: 'sim', device: 'test', format: 'raw', width: 320, height: 240, fps: 10, timestampStrip: false },
  ffmpegInput: () => ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '320x240', '-r', '10', '-i', 'pipe:0'],
  attach: () => () => {},
};

/** A publisher to `port`, where nobody listens: every connection is refused. */
const refused = (port: number) => new Publisher({
  tap, mic: null, url: () => `rtsp://127.0.0.1:${port}/robots/r1`, where: `127.0.0.1:${port}`,
  video: { width: 320, height: 240, fps: 10, kbps: 300 }, audioKbps: 32, log: createLogger('test'),
});

describe('Publisher retry (fake clock)', () => {
  it(`retries a refused publish after ${PUBLISH_MIN_BACKOFF_MS} ms, doubling up to ${PUBLISH_MAX_BACKOFF_MS} ms`, { timeout: 20_000 }, async (t) => {
    const port = await freePort(); // just free: nobody listens, every connection is refused
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const publisher = refused(port);
    // Counts publish attempts: connect() is what the retry timer calls.
    const connects = t.mock.method(publisher as unknown as { connect: () => Promise<void> }, 'connect');
    try {
      let down = once(publisher, 'down');
      publisher.start();
      for (const ms of [300, 600, 1200, 2000, 2000]) {
        const [reason] = await down as [string];
        assert.match(reason, /connection refused/);
        down = once(publisher, 'down');
        const n = connects.mock.callCount();
        t.mock.timers.tick(ms - 1);
        assert.equal(connects.mock.callCount(), n, `no new attempt 1 ms before ${ms} ms`);
        t.mock.timers.tick(1);
        assert.equal(connects.mock.callCount(), n + 1, `a new attempt at ${ms} ms`);
      }
      await down; // the last attempt is over before the test is (mock timers are global)
      assert.equal(publisher.stats().restarts, 6);
    } finally {
      await publisher.stop();
    }
  });

  it('stop() during a retry pause leaves no timer and no later attempt', { timeout: 20_000 }, async (t) => {
    const port = await freePort(); // just free: nobody listens, every connection is refused
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const publisher = refused(port);
    const connects = t.mock.method(publisher as unknown as { connect: () => Promise<void> }, 'connect');
    const timers = (publisher as unknown as { timers: Timers }).timers;
    const down = once(publisher, 'down');
    publisher.start();
    await down;
    assert.equal(timers.has('retry'), true, 'waiting to retry');
    await publisher.stop();
    assert.equal(timers.size, 0);
    t.mock.timers.tick(2 * PUBLISH_MAX_BACKOFF_MS);
    assert.equal(connects.mock.callCount(), 1, 'no attempt after stop()');
  });
});
