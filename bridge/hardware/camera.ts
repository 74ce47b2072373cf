// The Pi's USB camera through V4L2. Most USB cameras only reach 640x480@25 and above in MJPEG
// (USB 2 bandwidth), so MJPEG is the default input format; `yuyv422` is there for cameras that
// lack it, and `h264` for UVC cameras that encode by themselves (bridge/hardware/v4l2-formats.ts
// picks the best the device lists). FFmpeg opens the device itself.

import type { VideoFormat, VideoInfo, VideoSource } from './types.ts';

export type V4l2InputFormat = 'h264' | 'mjpeg' | 'yuyv422';

const DELIVERS: Record<V4l2InputFormat, VideoFormat> = { h264: 'h264', mjpeg: 'mjpeg', yuyv422: 'raw' };

export interface V4l2CameraOptions {
  device?: string;
  width?: number;
  height?: number;
  fps?: number;
  inputFormat?: V4l2InputFormat;
}

const DEVICE_PATH = /^\/dev\/video\d{1,3}$|^\/dev\/v4l\/by-(id|path)\/[\w.:@+-]+$/;

export class V4l2Camera implements VideoSource {
  readonly info: VideoInfo;
  readonly inputFormat: V4l2InputFormat;

  constructor(options: V4l2CameraOptions = {}) {
    const device = options.device ?? '/dev/video0';
    const width = options.width ?? 640;
    const height = options.height ?? 480;
    const fps = options.fps ?? 25;
    // The device path becomes an FFmpeg argument: accept only what a camera path looks like.
    if (!DEVICE_PATH.test(device)) throw new RangeError(`camera device must look like /dev/videoN or /dev/v4l/by-id/…, got ${JSON.stringify(device)}`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 3840 || height > 2160) {
      throw new RangeError(`camera size must be within 16x16..3840x2160, got ${width}x${height}`);
    }
    if (!Number.isInteger(fps) || fps < 1 || fps > 120) throw new RangeError(`camera fps must be an integer in 1..120, got ${fps}`);
    this.inputFormat = options.inputFormat ?? 'mjpeg';
    this.info = { kind: 'v4l2', device, format: DELIVERS[this.inputFormat], width, height, fps, timestampStrip: false };
  }

  ffmpegInput(): string[] {
    const { device, width, height, fps } = this.info;
    return [
      '-f', 'v4l2', '-input_format', this.inputFormat, '-video_size', `${width}x${height}`, '-framerate', String(fps),
      // Stamp frames on arrival and keep the driver's queue short: latency over smoothness.
      '-use_wallclock_as_timestamps', '1', '-thread_queue_size', '4', '-i', device,
    ];
  }
}

/** rpicam-vid (libcamera-vid on older Pi OS); HAVATAR_RPICAM overrides it. */
export const RPICAM_BIN = process.env.HAVATAR_RPICAM || 'rpicam-vid';

/**
 * The Pi camera's own H.264 on stdout: the ISP encodes it, the CPU only carries it. A keyframe
 * every second with SPS/PPS inline (a reader joins at any keyframe), baseline, no preview.
 */
export function rpicamArgs(info: { width: number; height: number; fps: number }, kbps: number): string[] {
  return [
    '-t', '0', '-n', '--codec', 'h264', '--inline', '--profile', 'baseline', '--intra', String(info.fps),
    '--width', String(info.width), '--height', String(info.height), '--framerate', String(info.fps),
    '--bitrate', String(kbps * 1000), '--flush', '-o', '-',
  ];
}
