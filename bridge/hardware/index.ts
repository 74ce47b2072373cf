// Chooses the robot's parts from the config: real devices on the Pi, simulated ones where the
// config says "sim". Motors are always SerialMotors on a port path (the simulator's pty in
// simulation), exactly as on the robot. A part that cannot be built is left out and reported in
// /system_status; the robot still drives without a camera.

import type { Logger } from '../../common/log.ts';
import type { Config } from '../config/schema.ts';
import { MjpegHub } from '../media/mjpeg.ts';
import { SimulatedCamera } from '../sim/camera.ts';
import { V4l2Camera } from './camera.ts';
import type { Hardware, VideoService } from './parts.ts';
import { PoseEstimator } from './pose-estimator.ts';
import { SerialMotors } from './serial-motors.ts';
import type { VideoSource } from './types.ts';

export interface HardwareOptions {
  config: Config;
  /** Overrides config.motors.serial_port (the simulator's pty). */
  serialPath?: string;
  log: Logger;
}

export async function createHardware({ config, serialPath, log }: HardwareOptions): Promise<Hardware> {
  const problems: Record<string, string> = {};
  const motors = new SerialMotors({ path: serialPath ?? config.motors.serial_port });
  // The port reopens itself with backoff: its errors are news, never fatal.
  motors.on('error', (err: Error) => log.warn('motor board link', { err }));
  await motors.open().catch((err: unknown) => log.warn('motor board not reachable yet; retrying', { err }));

  const simulated = config.camera.device === 'sim';
  const poseEstimator = simulated ? new PoseEstimator(motors) : null;

  let video: VideoService | null = null;
  try {
    const source: VideoSource = simulated
      ? new SimulatedCamera({ width: config.camera.width, height: config.camera.height, fps: config.camera.fps, poseSource: () => poseEstimator!.pose })
      : new V4l2Camera({ device: config.camera.device, width: config.camera.width, height: config.camera.height, fps: config.camera.fps });
    const hub = new MjpegHub({ source, logger: log.child('mjpeg') });
    video = {
      handle: (req, res) => hub.handle(req, res),
      status: () => ({ ...source.info, ...hub.stats(), target_fps: source.info.fps }),
      close: () => hub.close(),
    };
  } catch (err) {
    problems.video = (err as Error).message;
    log.error('camera unavailable', { err });
  }

  // Microphone, speaker and TTS arrive with bridge/media/audio.ts and bridge/hardware/{audio,tts}.ts.
  problems.mic = config.audio.enabled ? 'microphone capture not available in this build' : 'audio disabled in config';
  problems.speaker = config.audio.enabled ? 'speaker playback not available in this build' : 'audio disabled in config';
  problems.tts = 'text-to-speech not available in this build';

  return {
    motors,
    video,
    mic: null,
    speaker: null,
    tts: null,
    pose: poseEstimator ? () => poseEstimator.pose : null,
    problems,
    async close() {
      poseEstimator?.close();
      await Promise.allSettled([video?.close(), motors.close()]);
    },
  };
}
