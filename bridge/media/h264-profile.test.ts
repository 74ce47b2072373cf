// The H.264 the robot publishes in server mode, encoded for real with the publisher's own FFmpeg
// arguments: Constrained Baseline at a level every Safari decodes in hardware (iPhones included),
// the profile MediaMTX announces as profile-level-id=42e01f in its WHEP answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VideoSource } from '../hardware/types.ts';
import { progressArgs, publishVideoArgs } from './ffmpeg-args.ts';
import { ffmpegOnce } from './test/helpers.ts';

/** profile_idc, constraint flags and level_idc of the first sequence parameter set (NAL type 7). */
function spsOf(h264: Buffer): { profile: number; constraints: number; level: number } {
  for (let i = 0; i + 7 < h264.length; i++) {
    if (h264[i] === 0 && h264[i + 1] === 0 && h264[i + 2] === 1 && (h264[i + 3]! & 0x1f) === 7) {
      return { profile: h264[i + 4]!, constraints: h264[i + 5]!, level: h264[i + 6]! };
    }
  }
  throw new Error('no SPS in the stream');
}

/** The publisher's arguments, reading a test pattern and writing a few frames of raw H.264 to stdout. */
function encodeArgs(width: number, height: number, fps: number): string[] {
  const video: VideoSource = {
    info: { kind: 'sim', device: 'lavfi', format: 'raw', width, height, fps, timestampStrip: false },
    ffmpegInput: () => ['-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}`],
  };
  const args = publishVideoArgs({ video, to: { rtp: 40000, rtcp: 40001 }, fit: { width, height }, fps });
  // From the input to the RTP output, less the progress report (it would share stdout).
  const at = args.indexOf('-progress');
  const encoder = [...args.slice(args.indexOf('-f'), at), ...args.slice(at + progressArgs().length, args.lastIndexOf('-f'))];
  return [...encoder, '-frames:v', '3', '-f', 'h264', 'pipe:1'];
}

describe('the robot\'s published H.264', () => {
  for (const [w, h, fps, maxLevel] of [[1280, 720, 30, 31], [640, 480, 25, 30]] as const) {
    it(`${w}x${h}@${fps}: Constrained Baseline (profile 0x42, constraint_set1), level ${maxLevel / 10} or lower`, async () => {
      const sps = spsOf(await ffmpegOnce(encodeArgs(w, h, fps)));
      assert.equal(sps.profile, 0x42, 'Baseline profile_idc');
      assert.ok(sps.constraints & 0x40, `constraint_set1 (Constrained Baseline); flags 0x${sps.constraints.toString(16)}`);
      assert.ok(sps.level <= maxLevel, `level ${sps.level / 10}`);
    });
  }
});
