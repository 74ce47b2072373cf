// Which encoders the robot runs for what its camera delivers, and why — shown in /system_status
// as `camera.video_path` (docs/API_REFERENCE.md). Every encode skipped is CPU the Pi keeps
// (docs/PERFORMANCE.md, "Robot CPU per video path").

import type { EncoderChoice } from '../media/encoder-probe.ts';
import type { VideoFormat } from './types.ts';

export interface VideoPath {
  /** What the camera delivers. */
  source: `camera-${VideoFormat}`;
  /** What the robot runs to make the stream: 'none' when the camera's own frames go out as they are. */
  encoder: 'none' | 'mjpeg' | 'libx264' | 'h264_v4l2m2m' | 'probing';
  reason: string;
}

/** Local mode's MJPEG. */
export function localPath(format: VideoFormat): VideoPath {
  switch (format) {
    case 'mjpeg': return { source: 'camera-mjpeg', encoder: 'none', reason: "the camera's own JPEGs are passed through" };
    case 'h264': return { source: 'camera-h264', encoder: 'mjpeg', reason: 'the camera delivers H.264 only: decoded and encoded to JPEG while a local viewer watches' };
    default: return { source: 'camera-raw', encoder: 'mjpeg', reason: 'the camera delivers raw frames: encoded to JPEG while a local viewer watches' };
  }
}

/** Server mode's H.264: the camera's own, else the probed encoder (null while the probe runs). */
export function publishPath(format: VideoFormat, probe: EncoderChoice | null): VideoPath {
  const source = `camera-${format}` as const;
  if (format === 'h264') return { source, encoder: 'none', reason: "the camera's own H.264 is published as it comes (no decode, no encode)" };
  if (!probe) return { source, encoder: 'probing', reason: 'the hardware encoder probe is running' };
  const from = format === 'mjpeg' ? "the camera's JPEGs are decoded and encoded to H.264" : 'the raw frames are encoded to H.264';
  return { source, encoder: probe.encoder, reason: `${from}: ${probe.reason}${probe.cached ? ` (probed ${probe.probedAt}, cached)` : ''}` };
}
