// The camera the config names, as a VideoSource, and what it delivers (raw frames, its own JPEGs,
// its own H.264): the encoders downstream follow from that (bridge/hardware/video-path.ts).
//   sim        the simulator's raw frames, generated in the bridge
//   sim-mjpeg  the same frames encoded to JPEG by a "camera" FFmpeg, as a USB MJPEG camera sends them
//   sim-h264   the same frames encoded to H.264 by a "camera" FFmpeg, as a UVC H.264 camera sends them
//   rpicam     the Pi camera's own H.264 through rpicam-vid
//   /dev/…     a V4L2 camera, read in the best format it lists (bridge/hardware/v4l2-formats.ts)

import type { Logger } from '../../common/log.ts';
import type { Config } from '../config/schema.ts';
import { cameraCopyArgs, cameraEncoderArgs } from '../media/ffmpeg-args.ts';
import { SimulatedCamera, type Pose } from '../sim/camera.ts';
import { RPICAM_BIN, rpicamArgs, V4l2Camera } from './camera.ts';
import { EncodedCamera } from './encoded-camera.ts';
import type { VideoSource } from './types.ts';
import { listV4l2Formats, pickV4l2Format } from './v4l2-formats.ts';

export interface CameraChoice {
  source: VideoSource;
  /** Why this format: what the camera offered. */
  reason: string;
  /** The simulator's raw frame generator (for its stats), when simulated. */
  simulated: SimulatedCamera | null;
}

export async function createCameraSource(config: Config, poseSource: (() => Pose) | null, log: Logger): Promise<CameraChoice> {
  const { device, width, height, fps } = config.camera;
  if (device === 'sim' || device === 'sim-mjpeg' || device === 'sim-h264') {
    const raw = new SimulatedCamera({ width, height, fps, ...(poseSource ? { poseSource } : {}) });
    if (device === 'sim') return { source: raw, reason: 'the simulated camera delivers raw frames', simulated: raw };
    const format = device === 'sim-mjpeg' ? 'mjpeg' : 'h264';
    const source = new EncodedCamera({
      info: { ...raw.info, format, device: `synthetic-${format}` },
      producer: { args: () => cameraEncoderArgs(raw, format), rawInput: raw },
      log: log.child('sim-camera'),
    });
    return { source, reason: `the simulated camera encodes ${format === 'mjpeg' ? 'JPEGs' : 'H.264'} by itself`, simulated: raw };
  }
  if (device === 'rpicam') {
    const kbps = config.server_mode.video_kbps;
    const source = new EncodedCamera({
      info: { kind: 'rpicam', device: 'rpicam', format: 'h264', width, height, fps, timestampStrip: false },
      producer: { command: RPICAM_BIN, args: () => rpicamArgs({ width, height, fps }, kbps) },
      log: log.child('rpicam'),
    });
    return { source, reason: 'the Pi camera encodes H.264 in its ISP (rpicam-vid)', simulated: null };
  }
  const picked = pickV4l2Format(await listV4l2Formats(device));
  const camera = new V4l2Camera({ device, width, height, fps, inputFormat: picked.format });
  if (picked.format !== 'h264') return { source: camera, reason: picked.reason, simulated: null };
  // The device opens once: one FFmpeg copies its H.264 out, every reader gets it from there.
  const source = new EncodedCamera({ info: { ...camera.info, format: 'h264' }, producer: { args: () => cameraCopyArgs(camera, 'h264') }, log: log.child('camera') });
  return { source, reason: picked.reason, simulated: null };
}
