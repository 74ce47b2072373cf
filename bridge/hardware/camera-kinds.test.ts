// The simulator's three camera kinds through the bridge's real video paths, each checked on the
// FFmpeg that runs (its /proc cmdline) and on what comes out (the capture-time strip decoded):
//   sim        raw frames: local MJPEG encoded, server H.264 by the probed encoder (libx264 here)
//   sim-mjpeg  the camera's JPEGs: passed through to local viewers (no JPEG encode)
//   sim-h264   the camera's H.264: published to MediaMTX as it comes (no libx264 in the publisher)

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, setLogLevel } from '../../common/log.ts';
import { waitFor } from '../../common/wait.ts';
import { decodeStripFromLuma } from '../../protocol/timestamp-strip.ts';
import { DEFAULT_CONFIG, type Config } from '../config/schema.ts';
import { FfmpegSupervisor } from '../media/supervisor.ts';
import { ffmpegOnce, listen, MultipartReader, startPlainMediamtx } from '../media/test/helpers.ts';
import { Publisher } from '../server-mode/publisher.ts';
import { createHardware } from './index.ts';
import type { Hardware } from './parts.ts';
import type { VideoPath } from './video-path.ts';

setLogLevel('error');
const W = 640;
const H = 480;
const dir = mkdtempSync(join(tmpdir(), 'havatar-camkinds-'));
let mtx: Awaited<ReturnType<typeof startPlainMediamtx>>;
before(async () => { mtx = await startPlainMediamtx(); });
after(async () => { mtx?.stop(); await FfmpegSupervisor.stopAll(); rmSync(dir, { recursive: true, force: true }); });

async function hardwareFor(device: string): Promise<Hardware> {
  const config: Config = structuredClone(DEFAULT_CONFIG);
  config.camera = { device, width: W, height: H, fps: 25 };
  config.audio.enabled = false;
  return createHardware({ config, serialPath: join(dir, 'no-serial'), dataDir: mkdtempSync(join(dir, `${device}-`)), log: createLogger('test') });
}

const cmdline = (pid: number | null) => (pid ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') : []);
const after1 = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
const paths = (hw: Hardware) => (hw.video!.status() as { video_path: { local: VideoPath; server: VideoPath } }).video_path;

/** The first JPEGs a local viewer of /video gets; and the capture FFmpeg's arguments. */
async function localView(hw: Hardware): Promise<{ jpeg: Buffer; args: string[] }> {
  const srv = await listen((req, res) => hw.video!.handle(req, res));
  const ac = new AbortController();
  try {
    const res = await fetch(`${srv.url}/video`, { signal: ac.signal });
    const reader = new MultipartReader('frame');
    const body = res.body!.getReader();
    while (reader.parts.length < 3) { const { value, done } = await body.read(); if (done) break; reader.push(Buffer.from(value)); }
    const capture = (hw.video!.status() as { capture: { pid: number | null } }).capture;
    return { jpeg: reader.parts.at(-1)!, args: cmdline(capture.pid) };
  } finally { ac.abort(); await srv.close(); }
}

/** Publishes through the bridge's Publisher to MediaMTX; returns the publisher FFmpeg's arguments and one decoded frame's strip. */
async function publish(hw: Hardware, path: string): Promise<{ args: string[]; captureMs: number | null; codec: string }> {
  const publisher = new Publisher({
    tap: hw.video!.tap!(), mic: null, url: () => mtx.url(path), where: path,
    video: { width: W, height: H, fps: 25, kbps: 1500 }, audioKbps: 32, log: createLogger('test'),
  });
  publisher.start();
  try {
    await waitFor(`${path} live`, () => publisher.isLive, undefined, { timeoutMs: 30_000 });
    const args = cmdline(publisher.stats().ffmpeg.pid);
    const started = Date.now();
    const gray = await ffmpegOnce(['-rtsp_transport', 'tcp', '-i', mtx.url(path), '-map', '0:v:0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], undefined, 20_000);
    const strip = decodeStripFromLuma((x, y) => gray[y * W + x]!, W, H);
    // The h264 muxer takes nothing but H.264: bytes out (with an SPS) say what MediaMTX serves.
    const copied = await ffmpegOnce(['-rtsp_transport', 'tcp', '-i', mtx.url(path), '-map', '0:v:0', '-frames:v', '1', '-c', 'copy', '-f', 'h264', 'pipe:1'], undefined, 20_000);
    // /server/status's bitrate: what was published, whether an encoder reports it or not (copy).
    await waitFor(`${path} bitrate reported`, () => publisher.stats().bitrate_kbps, (k) => k > 0, { timeoutMs: 10_000 });
    return { args, captureMs: strip ? strip.captureMs - started : null, codec: hasSps(copied) ? 'h264' : `not H.264 (${copied.length} bytes)` };
  } finally { await publisher.stop(); }
}

/** An Annex-B start code followed by an SPS NAL unit. */
function hasSps(annexB: Buffer): boolean {
  for (let i = annexB.indexOf(START); i !== -1 && i + 3 < annexB.length; i = annexB.indexOf(START, i + 1)) if ((annexB[i + 3]! & 0x1f) === 7) return true;
  return false;
}
const START = Buffer.from([0, 0, 1]);

async function stripOfJpeg(jpeg: Buffer): Promise<boolean> {
  const gray = await ffmpegOnce(['-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], jpeg);
  return decodeStripFromLuma((x, y) => gray[y * W + x]!, W, H) !== null;
}

describe('camera kinds and the video paths they take', () => {
  test('sim-h264: the camera\'s H.264 is published without re-encoding; MediaMTX gets H264 and the strip decodes', async () => {
    const hw = await hardwareFor('sim-h264');
    try {
      assert.deepEqual(paths(hw).server, { source: 'camera-h264', encoder: 'none', reason: "the camera's own H.264 is published as it comes (no decode, no encode)" });
      const out = await publish(hw, 'robots/h264');
      assert.equal(after1(out.args, '-c:v'), 'copy');
      assert.ok(!out.args.includes('libx264') && !out.args.includes('h264_v4l2m2m'), `no encoder in ${out.args.join(' ')}`);
      assert.equal(out.codec, 'h264');
      assert.ok(out.captureMs !== null, 'the strip decodes from the camera-encoded stream');
      assert.ok(Math.abs(out.captureMs) < 10_000, `capture time ${out.captureMs} ms from the read`);
      // Local viewers still get JPEGs: decoded from the camera's H.264 and encoded.
      const local = await localView(hw);
      assert.equal(after1(local.args, '-f'), 'h264');
      assert.equal(after1(local.args, '-c:v'), 'mjpeg');
      assert.ok(await stripOfJpeg(local.jpeg));
      assert.equal(paths(hw).local.encoder, 'mjpeg');
    } finally { await hw.close(); }
  });

  test("sim-mjpeg: local viewers get the camera's own JPEGs passed through (no JPEG encode)", async () => {
    const hw = await hardwareFor('sim-mjpeg');
    try {
      assert.deepEqual(paths(hw).local, { source: 'camera-mjpeg', encoder: 'none', reason: "the camera's own JPEGs are passed through" });
      const local = await localView(hw);
      assert.equal(after1(local.args, '-f'), 'mjpeg');
      assert.equal(after1(local.args, '-c:v'), 'copy');
      assert.ok(!local.args.includes('-q:v'), `no JPEG encode in ${local.args.join(' ')}`);
      assert.ok(await stripOfJpeg(local.jpeg), 'the JPEG is the camera\'s, strip and all');
    } finally { await hw.close(); }
  });

  test('sim (raw frames): local MJPEG is encoded, and the server stream uses the probed encoder (libx264 on this machine)', async () => {
    const hw = await hardwareFor('sim');
    try {
      const local = await localView(hw);
      assert.equal(after1(local.args, '-c:v'), 'mjpeg');
      assert.ok(await stripOfJpeg(local.jpeg));
      const out = await publish(hw, 'robots/raw');
      assert.equal(after1(out.args, '-c:v'), 'libx264');
      assert.equal(out.codec, 'h264');
      assert.ok(out.captureMs !== null && Math.abs(out.captureMs) < 10_000);
      const server = paths(hw).server;
      assert.deepEqual([server.source, server.encoder], ['camera-raw', 'libx264']);
      assert.match(server.reason, /h264_v4l2m2m failed its trial encode/);
    } finally { await hw.close(); }
  });
});
