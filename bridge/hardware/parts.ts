// What the bridge's HTTP and WebSocket layers need from the robot's parts, beyond the device
// descriptions in types.ts: the running services (MJPEG hub, mic capture, speaker player, TTS).
// bridge/hardware/index.ts assembles them from the config; tests may pass their own.

import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { H264Encoder } from '../media/ffmpeg-args.ts';
import type { Motors, SpeakerSink, Tts, VideoInfo } from './types.ts';

/**
 * The camera's frames for a second FFmpeg (the server-mode publisher) without opening the device
 * again: FFmpeg input arguments reading stdin, and a feeder that writes this capture's frames there.
 */
export interface VideoTap {
  readonly info: VideoInfo;
  /** Input arguments, `-i pipe:0` included. */
  ffmpegInput(): string[];
  /** Starts writing frames to `stdin`; returns the function that stops it. */
  attach(stdin: Writable): () => void;
  /**
   * How the publisher makes H.264 from these frames: 'copy' when they are the camera's own H.264,
   * else the encoder the probe found working (bridge/media/encoder-probe.ts). Absent: libx264.
   */
  encoder?(): Promise<H264Encoder | 'copy'>;
}

/** The shared camera stream: one capture, any number of viewers. */
export interface VideoService {
  handle(req: IncomingMessage, res: ServerResponse): void;
  status(): Record<string, unknown>;
  /** The same capture for the server-mode publisher (see hardware/index.ts for how). */
  tap?(): VideoTap;
  close(): Promise<void>;
}

/** The robot's microphone. Emits 'frame' (Buffer: PCM s16le 16 kHz mono, 20 ms) while started. */
export interface MicService extends EventEmitter {
  start(): void;
  stop(): Promise<void> | void;
  status(): Record<string, unknown>;
}

/** The robot's speaker for push-to-talk PCM. */
export interface SpeakerService {
  /** Opens the output (push-to-talk pressed). */
  start(): void;
  /** One PCM frame (s16le 16 kHz mono). */
  write(pcm: Uint8Array): void;
  /** Push-to-talk released: let what is buffered play out, then go idle. */
  stop(): void;
  status(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface TtsService extends Tts {
  close?(): Promise<void>;
}

export interface Pose { x: number; y: number; heading: number }

export interface Hardware {
  motors: Motors;
  video: VideoService | null;
  mic: MicService | null;
  speaker: SpeakerService | null;
  /** Where talk audio read from the server (server mode) is played; absent: no server talk. */
  speakerSink?: SpeakerSink | null;
  tts: TtsService | null;
  /** Simulator only: where the robot is. */
  pose: (() => Pose) | null;
  /** Why a part is missing (shown in /system_status), by part name. */
  problems: Record<string, string>;
  close(): Promise<void>;
}
