import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { decodeStripFromLuma } from '../../protocol/timestamp-strip.ts';
import { SimulatedCamera } from '../sim/camera.ts';
import { JpegSplitter } from './jpeg-splitter.ts';
import { MJPEG_BOUNDARY, MjpegHub } from './mjpeg.ts';
import { setLogLevel } from '../../common/log.ts';
import { FfmpegSupervisor } from './supervisor.ts';
import { waitFor } from '../../common/wait.ts';
import { MultipartReader, ffmpegOnce, isAlive, listen } from './test/helpers.ts';

setLogLevel('error');
after(() => FfmpegSupervisor.stopAll());

async function realJpegs(n: number): Promise<Buffer[]> {
  const cam = new SimulatedCamera({ width: 320, height: 240 });
  const raw = Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.from(cam.renderFrame(1000 + i))));
  const stream = await ffmpegOnce(['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '320x240', '-i', 'pipe:0', '-c:v', 'mjpeg', '-q:v', '5', '-f', 'image2pipe', 'pipe:1'], raw);
  const frames: Buffer[] = [];
  const s = new JpegSplitter((f) => frames.push(f));
  s.push(stream);
  return frames;
}

/** A JPEG with an APP1 segment carrying a fake thumbnail (its own SOI … EOI). */
function withThumbnail(jpeg: Buffer): Buffer {
  const thumb = Buffer.from([0xff, 0xd8, 0x01, 0x02, 0xff, 0xd9]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(2 + thumb.length, 2);
  return Buffer.concat([jpeg.subarray(0, 2), app1, thumb, jpeg.subarray(2)]);
}

describe('JpegSplitter', () => {
  it('returns the same frames whatever the chunking, skipping garbage and embedded thumbnails', async () => {
    const jpegs = await realJpegs(4);
    assert.equal(jpegs.length, 4);
    const tricky = [jpegs[0]!, withThumbnail(jpegs[1]!), jpegs[2]!, jpegs[3]!];
    const stream = Buffer.concat([Buffer.from('noise\xff'), tricky[0]!, tricky[1]!, Buffer.from([0xff, 0x00, 0x12]), tricky[2]!, tricky[3]!]);
    for (const chunk of [1, 7, 1000, stream.length]) {
      const out: Buffer[] = [];
      const s = new JpegSplitter((f) => out.push(f));
      for (let i = 0; i < stream.length; i += chunk) s.push(stream.subarray(i, i + chunk));
      assert.equal(out.length, 4, `chunk ${chunk}`);
      out.forEach((f, i) => assert.ok(f.equals(tricky[i]!), `frame ${i} with chunk ${chunk}`));
    }
  });

  it('drops a frame that never ends instead of buffering without bound', async () => {
    const [jpeg] = await realJpegs(1);
    const out: Buffer[] = [];
    const s = new JpegSplitter((f) => out.push(f), 64 * 1024);
    const endless = Buffer.concat([jpeg!.subarray(0, jpeg!.length - 2), Buffer.alloc(16 * 1024, 0x11)]);
    s.push(endless);
    for (let i = 0; i < 10; i++) s.push(Buffer.alloc(16 * 1024, 0x22));
    assert.ok(s.bufferedBytes <= 64 * 1024 + 16 * 1024, `buffered ${s.bufferedBytes}`);
    assert.ok(s.stats.oversized >= 1);
    s.push(jpeg!);
    assert.equal(out.length, 1, 'resynchronises on the next frame');
  });
});

describe('MjpegHub', () => {
  it('serves at least 10 JPEG frames within 4 s from the simulated camera, stamped with a recent capture time', async () => {
    const hub = new MjpegHub({ source: new SimulatedCamera(), idleStopMs: 200 });
    const srv = await listen((req, res) => hub.handle(req, res));
    try {
      const reader = new MultipartReader(MJPEG_BOUNDARY);
      const started = Date.now();
      const req = http.get(`${srv.url}/video`);
      const res = await new Promise<http.IncomingMessage>((r) => req.once('response', r));
      assert.equal(res.headers['content-type'], `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`);
      res.on('data', (c: Buffer) => reader.push(c));
      await waitFor('10 frames', () => reader.parts.length, (n) => n >= 10, { timeoutMs: 4000 });
      const elapsed = Date.now() - started;
      req.destroy();
      for (const part of reader.parts) {
        assert.deepEqual([part[0], part[1]], [0xff, 0xd8]);
        assert.deepEqual([part[part.length - 2], part[part.length - 1]], [0xff, 0xd9]);
      }
      const gray = await ffmpegOnce(['-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], reader.parts[9]!);
      const strip = decodeStripFromLuma((x, y) => gray[y * 640 + x]!, 640, 480);
      assert.ok(strip, 'strip decodes from a served frame');
      assert.ok(strip.captureMs >= started - 100 && strip.captureMs <= Date.now(), `capture time ${strip.captureMs - started} ms after start`);
      const stats = hub.stats();
      assert.ok(stats.frames >= 10 && stats.bytes > 0 && stats.lastFrameAt !== null);
      assert.ok(elapsed < 4000);
    } finally {
      await srv.close();
      await hub.close();
    }
  });

  it('drops frames for a viewer that stops reading, keeping its queue bounded', async () => {
    const maxQueuedBytes = 32 * 1024;
    // 1280x720 at best quality: ~3-5 MB/s, enough to fill loopback socket buffers quickly.
    const hub = new MjpegHub({ source: new SimulatedCamera({ width: 1280, height: 720, fps: 25 }), mjpeg: { quality: 2 }, maxQueuedBytes, idleStopMs: 200 });
    const srv = await listen((req, res) => hub.handle(req, res));
    try {
      let biggest = 0;
      const unsubscribe = hub.subscribe((f) => { biggest = Math.max(biggest, f.length); });
      const req = http.get(`${srv.url}/video`);
      const res = await new Promise<http.IncomingMessage>((r) => req.once('response', r));
      res.pause();
      res.socket.pause();
      await waitFor('10 frames dropped for the paused viewer', () => hub.viewerStats()[0], (v) => (v?.framesDropped ?? 0) >= 10, { timeoutMs: 8000 });
      const [viewer] = hub.viewerStats();
      assert.ok(viewer);
      // One frame (plus its part header) may sit above the bound: never more.
      assert.ok(viewer.peakQueuedBytes <= maxQueuedBytes + biggest + 200, `peak ${viewer.peakQueuedBytes} > ${maxQueuedBytes} + ${biggest}`);
      assert.ok(hub.stats().frames > viewer.framesSent, 'the capture kept going while the viewer was stuck');
      unsubscribe();
      req.destroy();
    } finally {
      await srv.close();
      await hub.close();
    }
  });

  it('stops the capture after the last viewer leaves and starts it again for the next', async () => {
    const hub = new MjpegHub({ source: new SimulatedCamera({ width: 320, height: 240 }), idleStopMs: 300 });
    try {
      let frames = 0;
      const off = hub.subscribe(() => { frames++; });
      await waitFor('2 frames', () => frames, (n) => n >= 2, { timeoutMs: 4000 });
      const pid = hub.stats().capture.pid!;
      assert.ok(isAlive(pid));
      off();
      await waitFor('capture stopped', () => hub.stats().capture, (c) => c.state === 'stopped');
      await waitFor('FFmpeg gone', () => isAlive(pid), (alive) => !alive, { timeoutMs: 2000 });
      const again = hub.subscribe(() => { frames++; });
      const before = frames;
      await waitFor('2 frames after the restart', () => frames - before, (n) => n >= 2, { timeoutMs: 4000 });
      again();
    } finally {
      await hub.close();
    }
  });

  it('refuses viewers above the limit with 503', async () => {
    const hub = new MjpegHub({ source: new SimulatedCamera({ width: 320, height: 240 }), maxViewers: 1, idleStopMs: 100 });
    const srv = await listen((req, res) => hub.handle(req, res));
    try {
      const first = http.get(`${srv.url}/video`);
      const r1 = await new Promise<http.IncomingMessage>((r) => first.once('response', r));
      assert.equal(r1.statusCode, 200);
      r1.resume();
      const second = http.get(`${srv.url}/video`);
      const r2 = await new Promise<http.IncomingMessage>((r) => second.once('response', r));
      assert.equal(r2.statusCode, 503);
      r2.resume();
      first.destroy();
      second.destroy();
    } finally {
      await srv.close();
      await hub.close();
    }
  });
});
