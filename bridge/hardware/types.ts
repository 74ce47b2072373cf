// The robot's hardware, behind one interface each. Every part has a real implementation (the Pi's
// devices) and a simulated one (bridge/sim), chosen in one place (bridge/hardware/index.ts) from
// the config. The rest of the bridge only sees these interfaces.

import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type { Battery } from '../../protocol/messages.ts';

export interface MotorState {
  /** What the ESP32 reports it drives now, each in [-1, 1]. */
  left: number;
  right: number;
  /** False until the ESP32 answers, and again when it goes quiet (> 1 s without a status frame). */
  connected: boolean;
  /** The ESP32's own watchdog stopped the motors (no valid frame for 500 ms). */
  watchdogTripped: boolean;
  battery: Battery | null;
  /** Serial device path in use. */
  port: string;
  framesSent: number;
  /** Frames the ESP32 refused ($E, or an ack with a non-zero code). */
  framesRejected: number;
}

/**
 * The motor board. The bridge keeps one target and re-sends it every SERIAL_REFRESH_MS so the
 * ESP32's watchdog only trips when the bridge or the link is gone.
 * Events: 'state' (MotorState) on every status frame, 'ack' ({ seq, code, rttMs }), 'connected',
 * 'disconnected', 'error' (Error: logged, never fatal — the port is reopened with backoff).
 */
export interface Motors extends EventEmitter {
  /**
   * Opens the link. Never rejects: a robot comes up without its motor board; a port that cannot be
   * opened (yet) is retried with backoff until close() (watch 'connected' / state.connected).
   */
  open(): Promise<void>;
  /**
   * Sets the target for both tracks, each in [-1, 1]; resolves when the ESP32 acks. Rejects with a
   * RangeError for a non-finite or out-of-range speed (the target is left unchanged), and with an
   * Error when the port is not open, the board refuses, or no ack comes within ~300 ms.
   */
  set(left: number, right: number): Promise<{ seq: number; rttMs: number }>;
  /** Stops now (zero target, sends $S, keeps refreshing zero). Never rejects; resolves once acked or timed out. */
  stop(): Promise<void>;
  readonly state: MotorState;
  close(): Promise<void>;
}

/** What a camera delivers: raw frames (to be encoded), its own JPEGs, or its own H.264. */
export type VideoFormat = 'raw' | 'mjpeg' | 'h264';

export interface VideoInfo {
  kind: 'v4l2' | 'rpicam' | 'sim';
  device: string;
  format: VideoFormat;
  width: number;
  height: number;
  fps: number;
  /** Frames carry the capture-time strip (protocol/timestamp-strip.ts): only the simulator's do. */
  timestampStrip: boolean;
}

/** A camera as FFmpeg sees it: input arguments, and for generated frames, a feeder for stdin. */
export interface VideoSource {
  readonly info: VideoInfo;
  /** FFmpeg input arguments, `-i` included. */
  ffmpegInput(): string[];
  /** Sources that generate frames write them to FFmpeg's stdin; returns a function that stops it. */
  feed?(stdin: Writable): () => void;
}

export interface AudioInputInfo { kind: 'alsa' | 'sim'; device: string }
/** A microphone as FFmpeg sees it. */
export interface AudioSource {
  readonly info: AudioInputInfo;
  ffmpegInput(): string[];
}

export interface SpeakerInfo { kind: 'alsa' | 'sim'; device: string }
/** Where robot-side sound goes (talk audio, TTS). The simulated one records what it plays. */
export interface SpeakerSink {
  readonly info: SpeakerInfo;
  /** FFmpeg output arguments that play (or record) the audio. */
  ffmpegOutput(): string[];
}

export interface Tts {
  /** Speaks text on the speaker; resolves when done. */
  speak(text: string): Promise<void>;
  readonly info: { engine: 'espeak-ng'; voice: string; available: boolean; speaking: boolean };
}
