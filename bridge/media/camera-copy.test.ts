// A V4L2 camera's own H.264, copied out by cameraCopyArgs, as StreamFanout's readers need it: an
// SPS before every keyframe, even from a camera that sends its SPS/PPS only once. No camera here:
// an H.264 file without repeated headers stands in for the device.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { VideoSource } from '../hardware/types.ts';
import { cameraCopyArgs } from './ffmpeg-args.ts';
import { ffmpegOnce } from './test/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'havatar-copy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function nalTypes(annexB: Buffer): number[] {
  const types: number[] = [];
  for (let i = annexB.indexOf(START); i !== -1 && i + 3 < annexB.length; i = annexB.indexOf(START, i + 3)) types.push(annexB[i + 3]! & 0x1f);
  return types;
}
const START = Buffer.from([0, 0, 1]);

/** The stream with every SPS (7) and PPS (8) after the first of each removed. */
function headersOnce(annexB: Buffer): Buffer {
  const starts: number[] = [];
  for (let i = annexB.indexOf(START); i !== -1; i = annexB.indexOf(START, i + 3)) starts.push(i > 0 && annexB[i - 1] === 0 ? i - 1 : i);
  const seen = new Set<number>();
  const keep: Buffer[] = [];
  starts.forEach((at, n) => {
    const nal = annexB.subarray(at, starts[n + 1] ?? annexB.length);
    const type = nal[nal.indexOf(START) + 3]! & 0x1f;
    if ((type === 7 || type === 8) && seen.has(type)) return;
    seen.add(type);
    keep.push(nal);
  });
  return Buffer.concat(keep);
}

test('the copied H.264 carries an SPS before every keyframe, and nothing is re-encoded', async () => {
  const file = join(dir, 'once.h264');
  // What a camera that sends SPS/PPS only at the start looks like: x264's stream (headers before
  // every keyframe) with all but the first SPS and PPS taken out.
  const x264 = await ffmpegOnce(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '3', '-c:v', 'libx264', '-g', '25', '-bf', '0', '-f', 'h264', 'pipe:1']);
  writeFileSync(file, headersOnce(x264));
  const once = nalTypes(readFileSync(file));
  assert.equal(once.filter((t) => t === 7).length, 1, 'the stand-in sends its SPS once');
  const camera: VideoSource = { info: { kind: 'v4l2', device: '/dev/video0', format: 'h264', width: 320, height: 240, fps: 25, timestampStrip: false }, ffmpegInput: () => ['-f', 'h264', '-i', file] };
  const args = cameraCopyArgs(camera, 'h264');
  assert.equal(args[args.indexOf('-c:v') + 1], 'copy');
  const out = await ffmpegOnce(args.slice(args.indexOf('-f')));
  const types = nalTypes(out);
  const idr = types.filter((t) => t === 5).length;
  assert.ok(idr >= 3, `${idr} keyframes`);
  types.forEach((t, i) => { if (t === 5 && types[i - 1] !== 5) assert.ok(types.slice(Math.max(0, i - 3), i).includes(7), `SPS before the keyframe at NAL ${i}`); });
});
