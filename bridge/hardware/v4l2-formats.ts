// Which format to read a V4L2 camera in, from what the camera offers: its own H.264 first (the
// robot encodes nothing), then its own JPEGs (local viewers get them as they come; the publisher
// encodes H.264 from them), then raw YUYV (the robot encodes both). FFmpeg lists the formats
// (`-list_formats all`); the list is read once when the bridge starts.

import { execFile } from 'node:child_process';
import { FFMPEG_BIN, listV4l2FormatsArgs } from '../media/ffmpeg-args.ts';
import type { V4l2InputFormat } from './camera.ts';

/** Best first. */
const PREFERENCE: readonly V4l2InputFormat[] = ['h264', 'mjpeg', 'yuyv422'];

/** The FFmpeg format names in a `-list_formats all` listing (its lines `Raw : yuyv422 : …`, `Compressed: mjpeg : …`). */
export function parseV4l2Formats(listing: string): string[] {
  const names: string[] = [];
  for (const m of listing.matchAll(/(?:Raw|Compressed)\s*:\s*([\w-]+)\s*:/g)) names.push(m[1]!);
  return names;
}

export interface FormatChoice { format: V4l2InputFormat; reason: string }

/** The best format the camera lists; MJPEG (the old default) when the listing has none we read. */
export function pickV4l2Format(offered: readonly string[]): FormatChoice {
  const best = PREFERENCE.find((f) => offered.includes(f));
  if (best) return { format: best, reason: `the camera offers ${offered.join(', ')}: ${best} chosen` };
  return { format: 'mjpeg', reason: offered.length ? `the camera offers ${offered.join(', ')}, none read here: mjpeg tried` : 'the camera listed no formats: mjpeg tried' };
}

/** Asks FFmpeg what the device offers (FFmpeg exits non-zero after listing: that is normal). */
export function listV4l2Formats(device: string, timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(FFMPEG_BIN, listV4l2FormatsArgs(device), { timeout: timeoutMs }, (_err, _stdout, stderr) => resolve(parseV4l2Formats(String(stderr))));
  });
}
