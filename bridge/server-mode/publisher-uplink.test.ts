// The publisher fitting its video to a thin uplink, for real: the simulated camera → the
// publisher's x264 → RtspPush → a throttling proxy (the robot's uplink) → MediaMTX, with an
// FFmpeg reading the stream back from MediaMTX all along. Throttled to 150 kbps, the publisher
// steps down (a new encoder on the same RTSP session each time) to a smaller picture;
// unthrottled, it steps back up to full; the reader never loses the stream (no end of stream,
// frames keep coming after every step, the change of size included).
// The policy's times are shortened here; its rules at their boundaries are uplink-policy.test.ts's.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { createLogger, setLogLevel } from '../../common/log.ts';
import { waitFor } from '../../common/wait.ts';
import { SimulatedCamera } from '../sim/camera.ts';
import { Publisher } from './publisher.ts';
import { startPlainMediamtx } from '../media/test/helpers.ts';

setLogLevel('error');

/** A TCP proxy whose client → server direction is paced to `kbps` (null: as fast as it comes). */
async function throttle(targetPort: number): Promise<{ port: number; set: (kbps: number | null) => void }> {
  let kbps: number | null = null;
  const socks: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    socks.push(client, upstream);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (kbps === null) return;
      // Read no faster than the uplink would carry: the rest waits in the robot's socket.
      client.pause();
      setTimeout(() => client.resume(), (chunk.length * 8) / kbps);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('close', end); upstream.on('close', end); client.on('error', end); upstream.on('error', end);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  after(() => { for (const s of socks) s.destroy(); server.close(); });
  return { port: (server.address() as { port: number }).port, set: (k) => { kbps = k; } };
}

/** The plain test MediaMTX (RTSP only, anyone publishes), stopped after the file's tests. */
async function mediamtx(): Promise<number> {
  const server = await startPlainMediamtx();
  after(server.stop);
  return server.port;
}

/**
 * An FFmpeg reading the stream back: frames decoded so far, whether it ended, and the longest
 * time the frame count stood still (progress every 50 ms: the freeze a viewer would see, ±50 ms).
 */
function reader(url: string): { frames: () => number; ended: () => string | null; longestStillMs: (since: number) => number } {
  const child: ChildProcess = spawn('ffmpeg', ['-hide_banner', '-nostats', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, '-map', '0:v:0', '-f', 'null', '-', '-progress', 'pipe:1', '-stats_period', '0.05'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let frames = 0;
  const advances: number[] = [];
  let ended: string | null = null;
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    for (const m of d.matchAll(/^frame=(\d+)$/gm)) {
      if (Number(m[1]) > frames) advances.push(performance.now());
      frames = Number(m[1]);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-500); });
  child.on('exit', (code, signal) => { ended = `exit ${code ?? signal}: ${err.trim()}`; });
  after(() => { child.kill('SIGKILL'); });
  const longestStillMs = (since: number) => {
    const xs = advances.filter((x) => x >= since);
    return xs.slice(1).reduce((m, x, i) => Math.max(m, x - xs[i]!), 0);
  };
  return { frames: () => frames, ended: () => ended, longestStillMs };
}

describe('publisher on a throttled uplink (real FFmpeg, MediaMTX)', () => {
  it('steps the video down while the uplink is thin and back up when it has room; viewers keep the stream', { timeout: 240_000 }, async (t) => {
    const mtxPort = await mediamtx();
    const uplink = await throttle(mtxPort);
    const camera = new SimulatedCamera({ width: 640, height: 480, fps: 25 });
    const publisher = new Publisher({
      tap: { info: camera.info, ffmpegInput: () => camera.ffmpegInput(), attach: (stdin) => camera.feed(stdin), encoder: async () => 'libx264' },
      mic: null,
      url: () => `rtsp://127.0.0.1:${uplink.port}/robots/r1`,
      where: 'the test MediaMTX',
      video: { width: 640, height: 480, fps: 25, kbps: 1200 },
      audioKbps: 32,
      log: createLogger('test-publisher'),
      // Down as by default (a queue held 1 s); up sooner, and the wait after a failed step up capped
      // low: on a loaded test machine this process (the proxy included) can be starved long
      // enough to look like a thin link for a moment.
      uplink: { sampleMs: 100, settleMs: 1500, upAfterMs: 3000, maxUpAfterMs: 6000 },
    });
    after(() => publisher.stop());
    publisher.start();
    await waitFor('the publisher live', () => publisher.isLive, Boolean, { timeoutMs: 20_000 });
    const view = reader(`rtsp://127.0.0.1:${mtxPort}/robots/r1`);
    await waitFor('the reader decoding', () => view.frames(), (n) => n > 10, { timeoutMs: 20_000 });
    assert.equal(publisher.stats().uplink?.step, 0);

    const throttledAt = performance.now();
    const seen: string[] = [];
    const watch = setInterval(() => { const n = publisher.stats().uplink?.name; if (n && n !== seen.at(-1)) seen.push(n); }, 50);
    after(() => clearInterval(watch));
    uplink.set(150);
    const down = await waitFor('a step down', () => publisher.stats().uplink, (u) => (u?.step ?? 0) >= 1, { timeoutMs: 30_000, everyMs: 50 });
    assert.match(down!.reason, /^uplink congested/);
    const firstDownMs = performance.now() - throttledAt;
    // Down to a smaller picture (bitrate and frame rate were not enough for 150 kbps): the reader
    // must ride through a change of size too.
    const small = await waitFor('a smaller picture', () => publisher.stats().uplink, (u) => (u?.shape.width ?? 640) < 640, { timeoutMs: 40_000, everyMs: 50 });
    assert.ok(small!.shape.kbps < 300);
    const smallMs = performance.now() - throttledAt;
    const pidBefore = publisher.stats().ffmpeg.pid;

    uplink.set(null);
    const freedAt = performance.now();
    const up = await waitFor('back to full quality', () => publisher.stats().uplink, (u) => u?.step === 0, { timeoutMs: 120_000, everyMs: 50 });
    assert.match(up!.reason, /^full quality \(uplink has room/);
    const fullMs = performance.now() - freedAt;
    await waitFor('the encoder of the full step running', () => publisher.stats().ffmpeg, (f) => f.state === 'running' && f.pid !== pidBefore, { timeoutMs: 20_000 });

    // The viewer kept the stream through both steps: still reading, frames still coming.
    const framesAfterUp = view.frames();
    await waitFor('frames after the step up', () => view.frames(), (n) => n > framesAfterUp + 25, { timeoutMs: 20_000 });
    assert.equal(view.ended(), null, 'the reader never lost the stream');
    assert.equal(publisher.isLive, true);
    t.diagnostic(`steps: ${seen.join(' → ')}; ${view.frames()} frames read; longest still picture: ${Math.round(view.longestStillMs(throttledAt))} ms from the throttle on, ${Math.round(view.longestStillMs(freedAt + 2000))} ms over the steps up (new encoders, no congestion); first step down ${Math.round(firstDownMs)} ms and a smaller picture ${Math.round(smallMs)} ms after the throttle, full again ${Math.round(fullMs)} ms after it lifted`);
  });
});
