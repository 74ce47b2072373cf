// Robot audio over FFmpeg, in the WebSocket's format (protocol/audio.ts: PCM s16le 16 kHz mono,
// 20 ms = 640-byte frames).
//
// MicCapture: the microphone, running only while someone listens; stdout is cut into exact
//   640-byte frames emitted as 'frame' (the WebSocket's format), and also passed on as it comes as
//   'pcm' (the capture's own periods, 10 ms in the simulator: the server-mode Opus encoder sends
//   each period as it arrives, where 20 ms frames would leave its 10 ms packets in pairs).
// SpeakerPlayer: push-to-talk playback. Frames from the network arrive in bursts; the player
//   queues them and writes one frame every 20 ms on a drift-free clock, so the OS pipe and the
//   sound card never hold more than a frame or two. The queue is the jitter buffer: it starts
//   playing once PREBUFFER_MS is queued and drops the oldest audio when more than MAX_QUEUED_MS
//   waits (late speech is worse than a gap).

import { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '../../common/log.ts';
import { AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE } from '../../protocol/limits.ts';
import type { AudioSource, SpeakerSink } from '../hardware/types.ts';
import { micCaptureArgs, speakerPlaybackArgs } from './ffmpeg-args.ts';
import { FfmpegSupervisor, type SupervisorOptions, type SupervisorStatus } from './supervisor.ts';

/** Bytes in one 20 ms frame of s16le mono at 16 kHz. */
export const PCM_FRAME_BYTES = (AUDIO_SAMPLE_RATE * 2 * AUDIO_FRAME_MS) / 1000;
const BYTES_PER_MS = (AUDIO_SAMPLE_RATE * 2) / 1000;
/** Talk audio waiting longer than this is dropped (oldest first). */
export const MAX_QUEUED_MS = 200;
/** Audio queued before playback (re)starts, to ride out network jitter. */
export const PREBUFFER_MS = 40;
/** A talk session with no frames for this long is closed by itself. */
export const TALK_IDLE_STOP_MS = 1500;
/** After a late timer, at most this many owed frames are written at once. */
const MAX_CATCH_UP_FRAMES = 3;

type SupervisorTuning = Partial<Omit<SupervisorOptions, 'args' | 'name' | 'stdin' | 'progress'>>;

export interface MicCaptureOptions { source: AudioSource; logger?: Logger; supervisor?: SupervisorTuning }

/**
 * The robot's microphone. Emits 'frame' (Buffer, 640 bytes) and 'pcm' (Buffer, whatever the capture
 * handed over: whole samples, in order) while started. start/stop are idempotent.
 */
export class MicCapture extends EventEmitter {
  private readonly supervisor: FfmpegSupervisor;
  private readonly source: AudioSource;
  private remainder: Buffer = Buffer.alloc(0);
  private oddByte: Buffer | null = null;
  private frames = 0;
  private running = false;

  constructor(options: MicCaptureOptions) {
    super();
    this.source = options.source;
    const log = (options.logger ?? createLogger('media')).child('mic');
    this.supervisor = new FfmpegSupervisor({ ...options.supervisor, logger: log, name: 'mic', args: () => micCaptureArgs(this.source) });
    this.supervisor.on('spawn', () => { this.remainder = Buffer.alloc(0); this.oddByte = null; });
    this.supervisor.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.supervisor.stop();
  }

  status(): Record<string, unknown> {
    return { available: true, kind: this.source.info.kind, device: this.source.info.device, active: this.running, frames: this.frames, capture: this.supervisor.status };
  }

  private onData(chunk: Buffer): void {
    // A pipe read may end mid-sample: 'pcm' carries whole samples and keeps the odd byte for the next.
    const whole = this.oddByte ? Buffer.concat([this.oddByte, chunk]) : chunk;
    this.oddByte = whole.length % 2 ? Buffer.from(whole.subarray(whole.length - 1)) : null;
    if (whole.length > 1) this.emit('pcm', whole.length % 2 ? whole.subarray(0, whole.length - 1) : whole);
    let buf = this.remainder.length ? Buffer.concat([this.remainder, chunk]) : chunk;
    while (buf.length >= PCM_FRAME_BYTES) {
      this.frames++;
      this.emit('frame', Buffer.from(buf.subarray(0, PCM_FRAME_BYTES)));
      buf = buf.subarray(PCM_FRAME_BYTES);
    }
    this.remainder = Buffer.from(buf);
  }
}

export type SpeakerState = 'idle' | 'buffering' | 'playing' | 'draining';

export interface SpeakerPlayerOptions {
  sink: SpeakerSink;
  maxQueuedMs?: number;
  prebufferMs?: number;
  idleStopMs?: number;
  logger?: Logger;
  supervisor?: SupervisorTuning;
}

// A type alias (not an interface) so it fits parts.ts's Record<string, unknown> status.
export type SpeakerStatus = {
  available: true;
  kind: string;
  device: string;
  state: SpeakerState;
  queuedMs: number;
  framesPlayed: number;
  framesDropped: number;
  output: SupervisorStatus;
};

/** Push-to-talk playback onto a SpeakerSink. start() on talk start, write() each frame, stop() on release. */
export class SpeakerPlayer {
  private readonly sink: SpeakerSink;
  private readonly supervisor: FfmpegSupervisor;
  private readonly maxQueuedBytes: number;
  private readonly prebufferBytes: number;
  private readonly idleStopMs: number;
  private readonly log: Logger;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private state: SpeakerState = 'idle';
  private clockStart = 0;
  /** Frames written since clockStart. */
  private sent = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastWriteAt = 0;
  private played = 0;
  private dropped = 0;
  private finishing: Promise<void> | null = null;

  constructor(options: SpeakerPlayerOptions) {
    this.sink = options.sink;
    this.maxQueuedBytes = Math.round((options.maxQueuedMs ?? MAX_QUEUED_MS) * BYTES_PER_MS);
    this.prebufferBytes = Math.round((options.prebufferMs ?? PREBUFFER_MS) * BYTES_PER_MS);
    this.idleStopMs = options.idleStopMs ?? TALK_IDLE_STOP_MS;
    this.log = (options.logger ?? createLogger('media')).child('speaker');
    // No stall detection: a speaker is silent on stdout by nature, and idle between words.
    this.supervisor = new FfmpegSupervisor({
      ...options.supervisor, logger: this.log, name: 'speaker', stdin: true, stallMs: 0,
      args: () => speakerPlaybackArgs(this.sink),
    });
  }

  status(): SpeakerStatus {
    return {
      available: true, kind: this.sink.info.kind, device: this.sink.info.device, state: this.state,
      queuedMs: Math.round(this.queuedBytes / BYTES_PER_MS), framesPlayed: this.played, framesDropped: this.dropped,
      output: this.supervisor.status,
    };
  }

  /** Opens the output (talk pressed). Idempotent. */
  start(): void {
    if (this.state === 'buffering' || this.state === 'playing') return;
    this.state = 'buffering';
    this.lastWriteAt = Date.now();
    const open = () => {
      if (this.state === 'idle') return;
      this.supervisor.start();
      this.schedule(true);
    };
    // A session still draining finishes first (its file/stream closes cleanly), then we reopen.
    if (this.finishing) void this.finishing.then(open);
    else open();
  }

  /** Queues one PCM frame (any even length); opens the output if talk was not started. */
  write(pcm: Uint8Array): void {
    if (pcm.byteLength === 0 || pcm.byteLength % 2) return;
    if (this.state === 'idle' || this.state === 'draining') this.start();
    this.lastWriteAt = Date.now();
    this.queue.push(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    this.queuedBytes += pcm.byteLength;
    while (this.queuedBytes > this.maxQueuedBytes && this.queue.length > 1) {
      const old = this.queue.shift()!;
      this.queuedBytes -= old.length;
      this.dropped++;
    }
  }

  /** Talk released: plays what is queued, then closes the output. */
  stop(): void {
    if (this.state === 'idle' || this.state === 'draining') return;
    this.state = 'draining';
    if (this.queuedBytes === 0) this.finish();
  }

  /** Stops now, dropping what is queued; resolves when FFmpeg is gone. */
  async close(): Promise<void> {
    this.state = 'idle';
    this.clearTimer();
    this.dropQueue();
    await this.supervisor.stop();
  }

  /** Next tick on the 20 ms grid of the current clock (lateness never accumulates). */
  private schedule(restartClock: boolean): void {
    this.clearTimer();
    const now = Date.now();
    if (restartClock) { this.clockStart = now; this.sent = 0; }
    const next = this.clockStart + (Math.floor((now - this.clockStart) / AUDIO_FRAME_MS) + 1) * AUDIO_FRAME_MS;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - now));
  }

  private tick(): void {
    this.timer = null;
    if (this.state === 'idle') return;
    let restartClock = false;
    if (this.state === 'buffering' && this.queuedBytes >= this.prebufferBytes) {
      this.state = 'playing';
      restartClock = true;
      this.clockStart = Date.now();
      this.sent = 0;
    }
    if (this.state === 'playing' || this.state === 'draining') {
      // Frames owed by the clock so far (catches up after a late timer, at most a few at once).
      const owed = Math.min(MAX_CATCH_UP_FRAMES, Math.floor((Date.now() - this.clockStart) / AUDIO_FRAME_MS) + 1 - this.sent);
      for (let i = 0; i < owed && this.queuedBytes > 0; i++) { this.writeOut(this.takeFrame()); this.sent++; }
      if (this.queuedBytes === 0) {
        if (this.state === 'draining') { this.finish(); return; }
        if (owed > 0) { this.state = 'buffering'; restartClock = true; } // underrun: wait for the prebuffer again
      }
    }
    if (this.state !== 'draining' && Date.now() - this.lastWriteAt > this.idleStopMs) {
      this.log.info('talk idle: closing the speaker');
      this.state = 'draining';
      this.finish();
      return;
    }
    this.schedule(restartClock && this.state === 'buffering');
  }

  private takeFrame(): Buffer {
    let need = PCM_FRAME_BYTES;
    const parts: Buffer[] = [];
    while (need > 0 && this.queue.length) {
      const head = this.queue[0]!;
      if (head.length <= need) {
        parts.push(head);
        this.queue.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.queue[0] = head.subarray(need);
        need = 0;
      }
    }
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.queuedBytes -= frame.length;
    return frame;
  }

  private writeOut(frame: Buffer): void {
    const stdin = this.supervisor.stdin;
    if (!stdin) { this.dropped++; return; } // output restarting: this frame is lost
    stdin.write(frame);
    this.played++;
  }

  private finish(): void {
    this.clearTimer();
    this.state = 'idle';
    this.dropQueue();
    const done = this.supervisor.finish().finally(() => {
      if (this.finishing === done) this.finishing = null;
    });
    this.finishing = done;
  }

  private dropQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Resolves when the current session's output has closed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.finishing) await this.finishing;
  }
}
