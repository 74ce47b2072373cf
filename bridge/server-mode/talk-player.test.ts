// Server-mode talk on a fake clock: a talk stream that never arrives is given up exactly
// TALK_GIVE_UP_MS after talk start, and until then FFmpeg is retried every TALK_RETRY_MS. The
// readers are real FFmpegs that fail at once (nothing listens on the port), so the test awaits their
// exits as events. The real-time test of talk playing is in bridge/test/server-mode.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger, setLogLevel } from '../../common/log.ts';
import { RecordingSpeaker } from '../sim/audio.ts';
import type { Timers } from '../../common/state-machine.ts';
import { TALK_GIVE_UP_MS, TALK_RETRY_MS, TalkPlayer, type TalkEnd } from './talk-player.ts';
import { freePort } from '../../scripts/stack.ts';

setLogLevel('error');

describe('TalkPlayer (fake clock)', () => {
  it(`retries the talk stream every ${TALK_RETRY_MS} ms and gives up exactly ${TALK_GIVE_UP_MS} ms after talk start`, { timeout: 20_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'havatar-talk-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort(); // just free: nobody listens, every connection is refused
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const player = new TalkPlayer({ sink: new RecordingSpeaker(dir), url: () => `rtsp://127.0.0.1:${port}/robots/sim/talk`, log: createLogger('test') });
    const supervisor = (player as unknown as { supervisor: import('../media/supervisor.ts').FfmpegSupervisor }).supervisor;
    /** Resolves when the reader has failed and the supervisor waits to retry it. */
    const retrying = () => new Promise<void>((resolve) => {
      const on = (s: { state: string }) => { if (s.state === 'restarting') { supervisor.off('status', on); resolve(); } };
      supervisor.on('status', on);
    });
    const ended: TalkEnd[] = [];
    player.on('ended', (r: TalkEnd) => ended.push(r));
    const step = (ms: number) => { for (let i = 0; i < ms; i++) t.mock.timers.tick(1); };
    try {
      let failed = retrying();
      player.start();
      let elapsed = 0;
      // The reader fails at once each time; it is retried after 250, then 500 ms each (the
      // supervisor's pause doubles once and is capped at 2 × TALK_RETRY_MS).
      for (const pause of [TALK_RETRY_MS, 2 * TALK_RETRY_MS, 2 * TALK_RETRY_MS]) {
        await failed;
        failed = retrying();
        step(pause - 1);
        assert.equal(supervisor.status.state, 'restarting');
        step(1);
        assert.equal(supervisor.status.state, 'starting', `retried ${pause} ms after the failure`);
        elapsed += pause;
      }
      await failed;
      step(TALK_GIVE_UP_MS - elapsed - 1);
      assert.deepEqual(ended, [], '1 ms before the give-up');
      assert.equal(player.active, true);
      step(1);
      assert.deepEqual(ended, ['gave_up']);
      assert.equal(player.active, false);
    } finally {
      await player.close();
    }
  });

  it('talk stop before the give-up leaves no timer: no late gave_up', { timeout: 20_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'havatar-talk-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort(); // just free: nobody listens
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const player = new TalkPlayer({ sink: new RecordingSpeaker(dir), url: () => `rtsp://127.0.0.1:${port}/robots/sim/talk`, log: createLogger('test') });
    const ended: TalkEnd[] = [];
    player.on('ended', (r: TalkEnd) => ended.push(r));
    try {
      player.start();
      assert.equal((player as unknown as { timers: Timers }).timers.has('give-up'), true);
      await player.close();
      assert.equal((player as unknown as { timers: Timers }).timers.size, 0);
      t.mock.timers.tick(TALK_GIVE_UP_MS);
      assert.deepEqual(ended, []);
    } finally {
      await player.close();
    }
  });
});
