// Chooses the robot's parts from the config: real devices on the Pi, simulated ones where the
// config says "sim". Motors are always SerialMotors on a port path (the simulator's pty in
// simulation), exactly as on the robot. A part that cannot be built is left out and reported in
// /system_status; the robot still drives without a camera.

import type { Logger } from '../../common/log.ts';
import type { Config } from '../config/schema.ts';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { MicCapture, SpeakerPlayer } from '../media/audio.ts';
import { MjpegHub } from '../media/mjpeg.ts';
import { RecordingSpeaker, SimulatedMicrophone } from '../sim/audio.ts';
import { chooseH264Encoder, type EncoderChoice } from '../media/encoder-probe.ts';
import type { H264Encoder } from '../media/ffmpeg-args.ts';
import { AlsaMicrophone, AlsaSpeaker } from './audio.ts';
import { createCameraSource } from './camera-source.ts';
import { EncodedCamera } from './encoded-camera.ts';
import { localPath, publishPath } from './video-path.ts';
import type { Hardware, MicService, SpeakerService, TtsService, VideoService, VideoTap } from './parts.ts';
import { EspeakTts } from './tts.ts';
import { PoseEstimator } from './pose-estimator.ts';
import { SerialMotors } from './serial-motors.ts';
import type { SpeakerSink, VideoSource } from './types.ts';

export interface HardwareOptions {
  config: Config;
  /** Overrides config.motors.serial_port (the simulator's pty). */
  serialPath?: string;
  /** The data dir: the simulated speaker records its WAVs under <dataDir>/speaker. */
  dataDir: string;
  log: Logger;
}

export async function createHardware({ config, serialPath, dataDir, log }: HardwareOptions): Promise<Hardware> {
  const problems: Record<string, string> = {};
  const motors = new SerialMotors({ path: serialPath ?? config.motors.serial_port });
  // The port reopens itself with backoff: its errors are news, never fatal.
  motors.on('error', (err: Error) => log.warn('motor board link', { err }));
  await motors.open().catch((err: unknown) => log.warn('motor board not reachable yet; retrying', { err }));

  const simulated = config.camera.device.startsWith('sim');
  const poseEstimator = simulated ? new PoseEstimator(motors) : null;

  let video: VideoService | null = null;
  try {
    video = await createVideo(config, poseEstimator, dataDir, log);
  } catch (err) {
    problems.video = (err as Error).message;
    log.error('camera unavailable', { err });
  }

  let mic: MicService | null = null;
  let speaker: SpeakerService | null = null;
  let tts: TtsService | null = null;
  let sink: SpeakerSink | null = null;
  if (config.audio.enabled) {
    try {
      const source = config.audio.mic_device === 'sim' ? new SimulatedMicrophone({ marker: process.env.HAVATAR_SIM_MIC_MARKER === '1' }) : new AlsaMicrophone(config.audio.mic_device);
      mic = new MicCapture({ source, logger: log.child('mic') });
    } catch (err) {
      problems.mic = (err as Error).message;
      log.error('microphone unavailable', { err });
    }
    try {
      if (config.audio.speaker_device === 'sim') {
        const dir = join(dataDir, 'speaker');
        mkdirSync(dir, { recursive: true });
        sink = new RecordingSpeaker(dir);
      } else {
        sink = new AlsaSpeaker(config.audio.speaker_device);
      }
      speaker = new SpeakerPlayer({ sink, logger: log.child('speaker') });
    } catch (err) {
      problems.speaker = (err as Error).message;
      log.error('speaker unavailable', { err });
    }
  } else {
    problems.mic = problems.speaker = 'audio disabled in config';
  }
  if (sink) {
    try {
      tts = new EspeakTts({ sink, voice: config.tts.voice, wordsPerMinute: config.tts.rate, logger: log.child('tts') });
    } catch (err) {
      problems.tts = (err as Error).message;
      log.error('text-to-speech unavailable', { err });
    }
  } else {
    problems.tts = 'no speaker';
  }

  return {
    motors,
    video,
    mic,
    speaker,
    tts,
    speakerSink: sink,
    pose: poseEstimator ? () => poseEstimator.pose : null,
    problems,
    async close() {
      poseEstimator?.close();
      await Promise.allSettled([video?.close(), mic?.stop(), speaker?.close(), tts?.close?.(), motors.close()]);
    },
  };
}

/** The camera, its local MJPEG hub and the encoder choice for server mode. */
async function createVideo(config: Config, poseEstimator: PoseEstimator | null, dataDir: string, log: Logger): Promise<VideoService> {
  const camera = await createCameraSource(config, poseEstimator ? () => poseEstimator.pose : null, log);
  const source = camera.source;
  // The camera's own JPEGs go to local viewers as they are; anything else is encoded.
  const hub = new MjpegHub({ source, mjpeg: { copy: source.info.format === 'mjpeg' }, logger: log.child('mjpeg') });
  // Only a camera without its own H.264 needs an encoder: probe (or recall) which one works.
  let probed: EncoderChoice | null = null;
  const encoder: Promise<H264Encoder | 'copy'> = source.info.format === 'h264'
    ? Promise.resolve('copy')
    : chooseH264Encoder({ dataDir, camera: config.camera.device, log: log.child('encoder-probe') }).then((c) => (probed = c).encoder);
  log.info('camera', { device: source.info.device, format: source.info.format, reason: camera.reason });
  return {
    handle: (req, res) => hub.handle(req, res),
    status: () => ({
      ...source.info, ...hub.stats(), target_fps: source.info.fps,
      video_path: { local: localPath(source.info.format), server: publishPath(source.info.format, probed), camera: camera.reason },
    }),
    tap: () => videoTap(source, hub, () => encoder),
    close: async () => { await hub.close(); if (source instanceof EncodedCamera) await source.close(); },
  };
}

/**
 * One capture feeds both the local MJPEG and the server stream. A camera device opens
 * once, so the publisher never opens it itself:
 * - simulator and cameras that encode by themselves (EncodedCamera): the source writes each frame
 *   (raw, or the camera's own JPEGs or H.264) to every attached FFmpeg stdin (the MJPEG capture's
 *   and the publisher's), so nothing is encoded twice and the camera's H.264 is published as it is;
 * - V4L2: the publisher reads the MJPEG hub's JPEGs (the camera's own MJPEG when copied) from stdin.
 *   The hub keeps the device; it counts the publisher as a viewer, so the capture runs while either
 *   needs it, and a publisher crash (server gone) never touches the local stream. The cost is one
 *   JPEG decode in the publisher, cheaper on a Pi than a second capture path (and the device cannot
 *   be opened twice anyway).
 * Frames are stamped on arrival (wall clock): dropped frames never shift the timeline.
 */
function videoTap(source: VideoSource, hub: MjpegHub, encoder: () => Promise<H264Encoder | 'copy'>): VideoTap {
  const feed = source.feed?.bind(source);
  if (feed) {
    return { info: source.info, encoder, ffmpegInput: () => ['-use_wallclock_as_timestamps', '1', ...source.ffmpegInput()], attach: (stdin) => feed(stdin) };
  }
  return {
    info: source.info,
    encoder,
    ffmpegInput: () => ['-f', 'mjpeg', '-use_wallclock_as_timestamps', '1', '-probesize', '65536', '-analyzeduration', '0', '-i', 'pipe:0'],
    attach: (stdin) => hub.subscribe((jpeg) => {
      // A publisher that falls behind skips frames (never an unbounded queue in the bridge).
      if (!stdin.destroyed && stdin.writableLength < 2 * jpeg.length) stdin.write(jpeg);
    }),
  };
}
