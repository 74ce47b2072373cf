import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedCamera } from '../bridge/sim/camera.ts';
import { ffmpegOnce } from '../bridge/media/test/helpers.ts';
import {
  STRIP_LUMA_ONE, STRIP_LUMA_ZERO, crc16, decodeStripFromLuma, decodeStripFromRgba, drawStripY, encodeStrip,
  stripBlockSize, unwrapLow32,
} from './timestamp-strip.ts';

const W = 640;
const H = 480;

const ffmpeg = (args: string[], input: Buffer): Promise<Buffer> => ffmpegOnce(args, input);

const lumaOf = (plane: Uint8Array, width: number, offset = 0) => (x: number, y: number) => plane[offset + y * width + x]!;

describe('timestamp strip', () => {
  it('encodes 64 bits whose last 16 are the CRC of the first 48', () => {
    const bits = encodeStrip(1_764_000_123_456, 513);
    assert.equal(bits.length, 64);
    const bytes: number[] = [];
    for (let i = 0; i < 8; i++) bytes.push(bits.slice(i * 8, i * 8 + 8).reduce((b, bit) => (b << 1) | (bit ? 1 : 0), 0));
    assert.equal((bytes[4]! << 8) | bytes[5]!, 513);
    assert.equal(crc16(bytes.slice(0, 6)), (bytes[6]! << 8) | bytes[7]!);
    assert.equal(crc16([...'123456789'].map((c) => c.charCodeAt(0))), 0x29b1); // CRC-16/CCITT-FALSE check value
  });

  it('scales blocks with the frame width (640 px → 20 px blocks)', () => {
    assert.equal(stripBlockSize(640), 20);
    assert.equal(stripBlockSize(1280), 40);
    assert.equal(stripBlockSize(100), 0);
  });

  it('round-trips capture time and frame number through a luma plane', () => {
    const y = new Uint8Array(W * H).fill(128);
    const now = Date.now();
    drawStripY(y, W, H, now, 65535);
    assert.ok(y.includes(STRIP_LUMA_ONE) && y.includes(STRIP_LUMA_ZERO));
    assert.deepEqual(decodeStripFromLuma(lumaOf(y, W), W, H, now + 50), { captureMs: now, frameNo: 65535 });
  });

  it('rebuilds the full time across a wrap of the low 32 bits', () => {
    const span = 2 ** 32;
    const capture = 5 * span - 10; // just before a wrap
    assert.equal(unwrapLow32(capture % span, capture + 30), capture);
    assert.equal(unwrapLow32((capture + 20) % span, capture + 30), capture + 20);
  });

  it('rejects a damaged strip (one flipped block) instead of reading a wrong time', () => {
    const y = new Uint8Array(W * H);
    drawStripY(y, W, H, 1_000_000, 7);
    const block = stripBlockSize(W);
    for (let row = 0; row < block; row++) {
      const o = row * W + 5 * block;
      y.fill(y[o]! > 128 ? STRIP_LUMA_ZERO : STRIP_LUMA_ONE, o, o + block);
    }
    assert.equal(decodeStripFromLuma(lumaOf(y, W), W, H), null);
    assert.equal(decodeStripFromLuma(() => 128, W, H), null);
  });

  it('decodes every frame after JPEG at q 5, from luma and from RGBA', async () => {
    const cam = new SimulatedCamera({ width: W, height: H });
    const base = Date.now();
    const raw = Buffer.concat([0, 1, 2, 3, 4].map((i) => Buffer.from(cam.renderFrame(base + i * 40))));
    const jpegs = await ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-i', 'pipe:0', '-c:v', 'mjpeg', '-q:v', '5', '-f', 'image2pipe', 'pipe:1'], raw);
    const gray = await ffmpeg(['-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], jpegs);
    const rgba = await ffmpeg(['-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], jpegs);
    assert.equal(gray.length, 5 * W * H);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(decodeStripFromLuma(lumaOf(gray, W, i * W * H), W, H), { captureMs: base + i * 40, frameNo: i });
      const data = rgba.subarray(i * W * H * 4, (i + 1) * W * H * 4);
      assert.deepEqual(decodeStripFromRgba({ data, width: W, height: H }), { captureMs: base + i * 40, frameNo: i });
    }
  });

  it('decodes every frame after H.264 at 1.5 Mbps (x264 ultrafast zerolatency)', async () => {
    const cam = new SimulatedCamera({ width: W, height: H, poseSource: (() => { let t = 0; return () => ({ x: (t += 0.05), y: 0, heading: t }); })() });
    const base = Date.now();
    const n = 50;
    const raw = Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.from(cam.renderFrame(base + i * 40))));
    const h264 = await ffmpeg([
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-r', '25', '-i', 'pipe:0',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-bf', '0', '-g', '25',
      '-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '750k', '-f', 'h264', 'pipe:1',
    ], raw);
    const gray = await ffmpeg(['-f', 'h264', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], h264);
    assert.equal(gray.length, n * W * H);
    for (let i = 0; i < n; i++) {
      assert.deepEqual(decodeStripFromLuma(lumaOf(gray, W, i * W * H), W, H), { captureMs: base + i * 40, frameNo: i }, `frame ${i}`);
    }
  });
});
