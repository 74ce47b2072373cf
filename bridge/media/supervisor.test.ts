import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setLogLevel } from '../../common/log.ts';
import { FfmpegSupervisor, type SupervisorState } from './supervisor.ts';
import { isAlive, waitFor } from './test/helpers.ts';
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
      await waitFor(() => sup.status.state === 'running', 4000, 'running');
      const first = sup.status.pid!;
      sup.kill('SIGKILL');
      await waitFor(() => sup.status.state === 'running' && sup.status.pid !== first, 4000, 'running again');
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
      await waitFor(() => sup.status.restarts >= 1, 4000, 'a restart after the stall');
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
      await waitFor(() => sup.status.state === 'failed', 5000, 'failed');
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
    await waitFor(() => sup.status.state === 'failed', 2000, 'failed');
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
    await waitFor(() => sup.status.state === 'running', 3000, 'running');
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
      name: 'test-stdin', stdin: true, stopGraceMs: 60_000,
      args: () => ['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-f', 'null', '-'],
    });
    sup.start();
    // No input, so no output either: the child counts as started once it has a pid and has had
    // time to reach its read.
    await waitFor(() => sup.status.pid !== undefined, 3000, 'spawned');
    const pid = sup.status.pid!;
    await new Promise((r) => setTimeout(r, 500));
    await sup.stop();
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
      await waitFor(() => blocks.length >= 2, 4000, 'two progress blocks');
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
      await waitFor(() => sup.status.state === 'running', 4000, 'running');
      const first = sup.status.pid!;
      const stopping = sup.stop();
      sup.start();
      await stopping;
      await waitFor(() => sup.status.state === 'running' && sup.status.pid !== first, 4000, 'running again');
      assert.ok(!isAlive(first));
    } finally {
      await sup.stop();
    }
  });
});
