import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it, type TestContext } from 'node:test';
import { setLogLevel } from '../../common/log.ts';
import { IllegalTransition, StateMachine, type Timers } from '../../common/state-machine.ts';
import { FfmpegSupervisor, type Lifecycle, type SupervisorState } from './supervisor.ts';
import { SUPERVISOR_TRANSITIONS } from './supervisor-states.ts';
import { waitFor } from '../../common/wait.ts';
import { isAlive } from './test/helpers.ts';
import { freePort } from '../../scripts/stack.ts';

setLogLevel('error');
after(() => FfmpegSupervisor.stopAll());

/** FFmpeg writing 16 kHz silence to stdout in real time: a live child that always has output. */
const liveArgs = () => ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-re', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-f', 's16le', 'pipe:1'];

describe('FfmpegSupervisor', () => {
  it('restarts a killed FFmpeg with a new process and counts the restart', async () => {
    const sup = new FfmpegSupervisor({ name: 'test-live', args: liveArgs, minBackoffMs: 100 });
    const states: SupervisorState[] = [];
    sup.on('status', (s: { state: SupervisorState }) => states.push(s.state));
    try {
      sup.start();
      await waitFor('running', () => sup.status, (s) => s.state === 'running', { timeoutMs: 4000 });
      const first = sup.status.pid!;
      sup.kill('SIGKILL');
      await waitFor('running again with a new pid', () => sup.status, (s) => s.state === 'running' && s.pid !== first, { timeoutMs: 4000 });
      assert.equal(sup.status.restarts, 1);
      assert.ok(!isAlive(first));
      assert.deepEqual(states, ['starting', 'running', 'restarting', 'starting', 'running']);
    } finally {
      await sup.stop();
    }
    assert.equal(sup.status.state, 'stopped');
    assert.equal(sup.status.pid, null);
  });

  it('kills and restarts a child whose output stalls, and says so', async () => {
    // Runs, but writes nothing to stdout: exactly what a hung FFmpeg looks like.
    const sup = new FfmpegSupervisor({
      name: 'test-stall', stallMs: 400, minBackoffMs: 100,
      args: () => ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-f', 'null', '-'],
    });
    let stalls = 0;
    sup.on('stall', () => stalls++);
    try {
      sup.start();
      await waitFor('a restart after the stall', () => sup.status, (s) => s.restarts >= 1, { timeoutMs: 4000 });
      assert.ok(stalls >= 1);
      assert.match(sup.status.lastError ?? '', /stalled/);
    } finally {
      await sup.stop();
    }
  });

  it('turns FFmpeg errors into a readable status without the credentials in the URL', async () => {
    const port = await freePort(); // nothing listens there: connection refused
    const sup = new FfmpegSupervisor({
      name: 'test-error', restart: false,
      args: () => ['-hide_banner', '-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', `rtsp://robot:s3cret@127.0.0.1:${port}/robots/r1?token=abc`, '-f', 'null', '-'],
    });
    sup.start();
    try {
      await waitFor('failed', () => sup.status, (s) => s.state === 'failed', { timeoutMs: 5000 });
      const err = sup.status.lastError ?? '';
      assert.match(err, /refused/i);
      assert.doesNotMatch(err, /s3cret|abc/);
    } finally {
      await sup.stop();
    }
  });

  it('reports a missing binary as failed instead of retrying forever', async () => {
    const sup = new FfmpegSupervisor({ name: 'test-missing', command: '/nonexistent/ffmpeg', args: () => [] });
    sup.start();
    await waitFor('failed', () => sup.status, (s) => s.state === 'failed', { timeoutMs: 2000 });
    assert.match(sup.status.lastError ?? '', /not found/);
    await sup.stop();
    assert.equal(sup.status.state, 'failed');
  });

  it('stop() escalates to SIGKILL for a child that ignores SIGTERM and resolves once it is gone', async () => {
    const sup = new FfmpegSupervisor({
      name: 'test-stubborn', command: 'bash', stopGraceMs: 300,
      args: () => ['-c', 'trap "" TERM; while :; do echo alive; sleep 0.05; done'],
    });
    sup.start();
    await waitFor('running', () => sup.status, (s) => s.state === 'running');
    const pid = sup.status.pid!;
    const t0 = Date.now();
    await sup.stop();
    const took = Date.now() - t0;
    assert.ok(!isAlive(pid), 'child gone');
    assert.ok(took >= 250 && took < 2000, `stop took ${took} ms`);
    assert.equal(sup.status.state, 'stopped');
  });

  it('stop() ends an FFmpeg blocked reading an idle stdin without waiting out the grace period', { timeout: 15_000 }, async () => {
    // FFmpeg restarts a read interrupted by SIGTERM: fed nothing, it only ends once its input closes.
    const sup = new FfmpegSupervisor({
      // stallMs 0: silent by design here, and the stall killer must not end it first on a slow machine.
      name: 'test-stdin', stdin: true, stopGraceMs: 60_000, stallMs: 0,
      args: () => ['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-f', 'null', '-'],
    });
    sup.start();
    // No input, so no output either: wait until FFmpeg sits in read(2) on its stdin, the state this
    // test is about. The kernel names where a blocked task waits: Node's stdio pipes are Unix
    // socket pairs (unix_stream_read_generic); a pipe would show pipe_read.
    const pid = (await waitFor('spawned', () => sup.status.pid, (p) => p !== null))!;
    await waitFor(`FFmpeg (pid ${pid}) blocked reading its stdin`, () => readFileSync(`/proc/${pid}/wchan`, 'utf8'), (w) => /unix_stream_read|pipe_read/.test(w), { everyMs: 5 });
    await sup.stop(); // the test's 15 s timeout is far inside the 60 s grace period
    assert.ok(!isAlive(pid), 'child gone');
    assert.equal(sup.status.state, 'stopped');
  });

  it('parses -progress blocks into progress events', async () => {
    const sup = new FfmpegSupervisor({
      name: 'test-progress', progress: true,
      args: () => ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-progress', 'pipe:1', '-stats_period', '0.2', '-nostats', '-f', 'null', '-'],
    });
    const blocks: Record<string, string>[] = [];
    sup.on('progress', (b: Record<string, string>) => blocks.push(b));
    try {
      sup.start();
      await waitFor('two progress blocks', () => blocks.length, (n) => n >= 2, { timeoutMs: 4000 });
      assert.ok(Number(blocks[1]!.frame) > 0);
      assert.equal(blocks[1]!.progress, 'continue');
    } finally {
      await sup.stop();
    }
  });

  it('a start() during a stop() runs the child again instead of being lost', async () => {
    const sup = new FfmpegSupervisor({ name: 'test-restart', args: liveArgs });
    try {
      sup.start();
      await waitFor('running', () => sup.status, (s) => s.state === 'running', { timeoutMs: 4000 });
      const first = sup.status.pid!;
      const stopping = sup.stop();
      sup.start();
      await stopping;
      await waitFor('running again with a new pid', () => sup.status, (s) => s.state === 'running' && s.pid !== first, { timeoutMs: 4000 });
      assert.ok(!isAlive(first));
    } finally {
      await sup.stop();
    }
  });
});

/**
 * The supervisor's time rules on a fake clock: node:test mocks its timers and Date (it reads
 * Date.now), `advance` moves them 1 ms at a time. The children are real (bash), so a test awaits
 * their exit or output as an event, never on the clock.
 */
function fakeTime(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  return {
    now: () => Date.now(),
    advance(by: number) { for (let i = 0; i < by; i++) t.mock.timers.tick(1); },
  };
}

/** Resolves when the supervisor next reports `state`. */
const nextState = (sup: FfmpegSupervisor, state: SupervisorState) => new Promise<void>((resolve) => {
  const on = (s: { state: SupervisorState }) => { if (s.state === state) { sup.off('status', on); resolve(); } };
  sup.on('status', on);
});

describe('FfmpegSupervisor time rules (fake clock)', () => {
  it('restarts a failing child after 100, 200, 400 ms…, doubling up to maxBackoffMs', { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    const sup = new FfmpegSupervisor({ name: 'test-backoff', command: 'bash', args: () => ['-c', 'exit 3'], stallMs: 0, minBackoffMs: 100, maxBackoffMs: 800 });
    try {
      let down = nextState(sup, 'restarting');
      sup.start();
      for (const pause of [100, 200, 400, 800, 800]) {
        await down;
        down = nextState(sup, 'restarting');
        clock.advance(pause - 1);
        assert.equal(sup.status.state, 'restarting', `still pausing 1 ms before ${pause} ms`);
        clock.advance(1);
        assert.equal(sup.status.state, 'starting', `started again at ${pause} ms`);
      }
      assert.equal(sup.status.restarts, 5);
      assert.match(sup.status.lastError ?? '', /exited with code 3/);
    } finally {
      await sup.stop();
    }
  });

  it('a run longer than healthyAfterMs resets the pause to minBackoffMs; one exactly that long does not', { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    let runs = 0;
    const sup = new FfmpegSupervisor({
      name: 'test-healthy', command: 'bash', stallMs: 0, minBackoffMs: 100, maxBackoffMs: 800, healthyAfterMs: 1000,
      // Two quick failures (pauses 100, 200), then children that run until killed.
      args: () => (++runs <= 2 ? ['-c', 'exit 1'] : ['-c', 'exec sleep 60']),
    });
    /** The child was killed after running `ranMs`: the supervisor must pause exactly `pause`. */
    const killAfter = async (ranMs: number, pause: number) => {
      clock.advance(ranMs);
      const down = nextState(sup, 'restarting');
      sup.kill('SIGKILL');
      await down;
      clock.advance(pause - 1);
      assert.equal(sup.status.state, 'restarting', `still pausing 1 ms before ${pause} ms`);
      clock.advance(1);
      assert.equal(sup.status.state, 'starting', `started again at ${pause} ms`);
    };
    try {
      let down = nextState(sup, 'restarting');
      sup.start();
      for (const pause of [100, 200]) {
        await down;
        down = nextState(sup, 'restarting');
        clock.advance(pause);
      }
      await killAfter(1000, 400); // exactly healthyAfterMs: not yet healthy, the pause keeps doubling
      await killAfter(1001, 100); // healthy: back to the minimum
      await killAfter(0, 200);
    } finally {
      await sup.stop();
    }
  });

  it('kills a child silent for more than stallMs at the first check after (every stallMs / 4)', { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    const sup = new FfmpegSupervisor({ name: 'test-stall-clock', command: 'bash', args: () => ['-c', 'echo up; exec sleep 60'], stallMs: 400, minBackoffMs: 100 });
    const stalls: number[] = [];
    sup.on('stall', () => stalls.push(clock.now()));
    try {
      const running = nextState(sup, 'running');
      sup.start();
      await running; // its one line of output, at fake time 0
      clock.advance(400);
      assert.deepEqual(stalls, [], 'exactly stallMs of silence is not a stall');
      clock.advance(99);
      assert.deepEqual(stalls, []);
      clock.advance(1);
      assert.deepEqual(stalls, [500]);
      assert.match(sup.status.lastError ?? '', /stalled: no output for 0\.5 s/);
    } finally {
      await sup.stop();
    }
  });

  it('before its first output a child gets firstOutputMs instead of stallMs', { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    const sup = new FfmpegSupervisor({ name: 'test-first-output', command: 'bash', args: () => ['-c', 'exec sleep 60'], stallMs: 400, firstOutputMs: 1000, minBackoffMs: 100 });
    const stalls: number[] = [];
    sup.on('stall', () => stalls.push(clock.now()));
    try {
      sup.start();
      clock.advance(1099);
      assert.deepEqual(stalls, [], 'silent for 1 s (and a check period): still connecting');
      clock.advance(1);
      assert.deepEqual(stalls, [1100]);
    } finally {
      await sup.stop();
    }
  });
});

/** The supervisor's own machine and timers: what these tests are about is exactly what it hides. */
const insides = (sup: FfmpegSupervisor) => sup as unknown as { machine: StateMachine<Lifecycle>; timers: Timers };

/** bash children: one that says one line and then idles, one that never says anything, one that fails at once. */
const SAYS_UP = ['-c', 'echo up; exec sleep 60'];
const SILENT = ['-c', 'exec sleep 60'];
const FAILS = ['-c', 'exit 3'];

describe('FfmpegSupervisor lifecycle', () => {
  it('moves starting → running → restarting → starting → running → stopping → stopped, each step in the table', async (t) => {
    const sup = new FfmpegSupervisor({ name: 'test-path', command: 'bash', args: () => SAYS_UP, stallMs: 0, minBackoffMs: 20 });
    const to = t.mock.method(insides(sup).machine, 'to');
    try {
      sup.start();
      await waitFor('running', () => sup.lifecycle, (s) => s === 'running');
      sup.kill('SIGKILL');
      await waitFor('running again after the restart', () => sup.status, (s) => s.state === 'running' && s.restarts === 1);
    } finally {
      const stopping = sup.stop();
      assert.equal(sup.lifecycle, 'stopping', 'stopping while the child is still there');
      assert.equal(sup.status.state, 'running', "'stopping' is not reported: callers see what the child was doing");
      await stopping;
    }
    const path = to.mock.calls.map((c) => c.arguments[0]);
    assert.deepEqual(path, ['starting', 'running', 'restarting', 'starting', 'running', 'stopping', 'stopped']);
    path.reduce<Lifecycle>((from, next) => {
      assert.ok(SUPERVISOR_TRANSITIONS[from].includes(next), `${from} → ${next} is in the table`);
      return next;
    }, 'stopped');
  });

  it('an illegal transition throws under node:test, in the table and in a supervisor', () => {
    const table = new StateMachine<Lifecycle>('supervisor table', 'stopped', SUPERVISOR_TRANSITIONS);
    assert.throws(() => table.to('running'), IllegalTransition, 'output before any child ran');
    assert.throws(() => table.to('stopping'), IllegalTransition, 'nothing to stop');
    table.to('starting');
    table.to('restarting');
    assert.throws(() => table.to('running'), IllegalTransition, 'output between runs');
    const sup = new FfmpegSupervisor({ name: 'test-illegal', args: () => [] });
    assert.throws(() => insides(sup).machine.to('restarting'), /supervisor test-illegal: illegal transition stopped → restarting/);
    assert.equal(sup.lifecycle, 'stopped');
  });

  /** How to bring a supervisor into each state, and whether it holds a timer there. */
  const states: { state: Lifecycle; make: () => FfmpegSupervisor; reach: (sup: FfmpegSupervisor) => Promise<unknown>; timers: boolean; after: Lifecycle }[] = [
    { state: 'stopped', make: () => new FfmpegSupervisor({ name: 'test-from-stopped', command: 'bash', args: () => SAYS_UP }), reach: async () => {}, timers: false, after: 'stopped' },
    {
      state: 'starting', make: () => new FfmpegSupervisor({ name: 'test-from-starting', command: 'bash', args: () => SILENT, stallMs: 60_000 }),
      reach: async (sup) => { sup.start(); await waitFor('spawned', () => sup.pid, (p) => p !== null); }, timers: true, after: 'stopped',
    },
    {
      state: 'running', make: () => new FfmpegSupervisor({ name: 'test-from-running', command: 'bash', args: () => SAYS_UP, stallMs: 60_000 }),
      reach: (sup) => { sup.start(); return waitFor('running', () => sup.lifecycle, (s) => s === 'running'); }, timers: true, after: 'stopped',
    },
    {
      state: 'restarting', make: () => new FfmpegSupervisor({ name: 'test-from-restarting', command: 'bash', args: () => FAILS, minBackoffMs: 60_000 }),
      reach: (sup) => { sup.start(); return waitFor('restarting', () => sup.lifecycle, (s) => s === 'restarting'); }, timers: true, after: 'stopped',
    },
    {
      state: 'stopping', make: () => new FfmpegSupervisor({ name: 'test-from-stopping', command: 'bash', args: () => SAYS_UP, stallMs: 60_000 }),
      reach: async (sup) => {
        sup.start();
        await waitFor('running', () => sup.lifecycle, (s) => s === 'running');
        return sup.stop(); // not awaited here: the stop() under test comes while this one waits
      },
      timers: true, after: 'stopped',
    },
    {
      state: 'failed', make: () => new FfmpegSupervisor({ name: 'test-from-failed', command: '/nonexistent/ffmpeg', args: () => [] }),
      reach: (sup) => { sup.start(); return waitFor('failed', () => sup.lifecycle, (s) => s === 'failed'); }, timers: false, after: 'failed',
    },
  ];
  for (const { state, make, reach, timers, after } of states) {
    it(`stop() from ${state} leaves no timer behind`, async () => {
      const sup = make();
      const reached = reach(sup);
      // 'stopping' is reached the moment the first stop() is called; the rest once reach() is done.
      if (state !== 'stopping') await reached;
      else await waitFor('stopping', () => sup.lifecycle, (s) => s === 'stopping');
      assert.equal(sup.lifecycle, state);
      assert.equal(insides(sup).timers.size > 0, timers, `timers in ${state}: ${insides(sup).timers.size}`);
      await Promise.all([sup.stop(), reached]);
      assert.equal(insides(sup).timers.size, 0);
      assert.equal(sup.lifecycle, after);
      assert.equal(sup.pid, null);
    });
  }

  it('finish() lets a running child go and leaves no timer behind', async () => {
    const sup = new FfmpegSupervisor({ name: 'test-finish', command: 'bash', args: () => ['-c', 'echo up; read line'], stdin: true, stallMs: 60_000 });
    sup.start();
    await waitFor('running', () => sup.lifecycle, (s) => s === 'running');
    await sup.finish(); // closing stdin ends `read`: the child exits by itself
    assert.equal(insides(sup).timers.size, 0);
    assert.equal(sup.lifecycle, 'stopped');
  });

  it("finish() between runs cancels the restart and reports 'stopped' (not a 'restarting' nobody will keep)", async () => {
    const sup = new FfmpegSupervisor({ name: 'test-finish-between', command: 'bash', args: () => FAILS, minBackoffMs: 60_000 });
    sup.start();
    await waitFor('restarting', () => sup.lifecycle, (s) => s === 'restarting');
    await sup.finish();
    assert.equal(insides(sup).timers.size, 0);
    assert.equal(sup.status.state, 'stopped');
  });
});

describe('FfmpegSupervisor backoff (fake clock)', () => {
  it('start() after stop() begins again at minBackoffMs and counts restarts from 0', { timeout: 20_000 }, async (t) => {
    const clock = fakeTime(t);
    const sup = new FfmpegSupervisor({ name: 'test-backoff-again', command: 'bash', args: () => FAILS, stallMs: 0, minBackoffMs: 100, maxBackoffMs: 800 });
    /** The child has failed: the pause before the next start must be exactly `pause`. */
    const pauses = (pause: number) => {
      clock.advance(pause - 1);
      assert.equal(sup.lifecycle, 'restarting', `still pausing 1 ms before ${pause} ms`);
      clock.advance(1);
      assert.equal(sup.lifecycle, 'starting', `started again at ${pause} ms`);
    };
    try {
      let failed = nextState(sup, 'restarting');
      sup.start();
      for (const pause of [100, 200, 400]) {
        await failed; // the child's exit, awaited as an event: the clock only times the pause
        failed = nextState(sup, 'restarting');
        pauses(pause);
      }
      await failed;
      await sup.stop();
      assert.equal(sup.status.restarts, 4);
      failed = nextState(sup, 'restarting');
      sup.start();
      assert.equal(sup.status.restarts, 0);
      await failed;
      pauses(100);
    } finally {
      await sup.stop();
    }
    assert.equal(insides(sup).timers.size, 0);
  });
});
