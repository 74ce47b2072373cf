// Server mode's outgoing stream: one supervised FFmpeg that encodes the camera's frames (from the
// shared capture, see hardware/index.ts videoTap) as H.264 and the microphone as Opus and pushes
// both to MediaMTX over RTSP/TCP (arguments: media/ffmpeg-args.ts rtspPublishArgs).
//
// The microphone is not opened a second time either: MicCapture's PCM frames are written to the
// publisher's fd 3. While the speaker plays the driver's talk audio the mic is DUCKED TO SILENCE
// (zeros written in its place) rather than paused: the Opus track keeps its timing (no gaps for the
// viewers' jitter buffers to stall on) and the driver never hears their own voice come back.
//
// Events: 'live' () once a run is really sending (frames advancing in -progress); 'down'
// (reason) when a run ends unasked (crash, stall, MediaMTX gone); the supervisor restarts it with
// backoff (capped at PUBLISH_MAX_BACKOFF_MS so the stream is back quickly once MediaMTX is).

import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type { Logger } from '../../common/log.ts';
import type { MicService, VideoTap } from '../hardware/parts.ts';
import type { AudioSource } from '../hardware/types.ts';
import { lowDelayInput, pcmFormat, rtspPublishArgs } from '../media/ffmpeg-args.ts';
import { FfmpegSupervisor, type SupervisorStatus } from '../media/supervisor.ts';
import { publishError } from './errors.ts';
import { VideoStats } from './vstats.ts';

export const PUBLISH_STALL_MS = 2000;
/** Connect + authenticate + first frames: allowed longer than a stall in mid-stream. */
export const PUBLISH_FIRST_OUTPUT_MS = 5000;
export const PUBLISH_MIN_BACKOFF_MS = 300;
export const PUBLISH_MAX_BACKOFF_MS = 2000;
/** PCM waiting in the mic pipe beyond this is dropped (8 frames = 160 ms). */
const MAX_MIC_QUEUED = 8 * 640;

export interface PublisherOptions {
  tap: VideoTap;
  mic: MicService | null;
  /** The publish URL with credentials (read on every start: config may have changed). */
  url: () => string;
  /** The credential-free address, for messages. */
  where: string;
  video: { width: number; height: number; fps: number; kbps: number };
  audioKbps: number;
  log: Logger;
}

export interface PublisherStats {
  publishing: boolean;
  bitrate_kbps: number;
  fps: number;
  frames: number;
  restarts: number;
  last_error: string | null;
  ffmpeg: SupervisorStatus;
}

export class Publisher extends EventEmitter {
  private readonly supervisor: FfmpegSupervisor;
  private vstats: VideoStats | null = null;
  private stopFeed: (() => void) | null = null;
  private micPipe: Writable | null = null;
  private ducked = false;
  private live = false;
  private wanted = false;
  private last: { at: number; frame: number; size: number } | null = null;
  private advances = 0;
  private kbps = 0;
  private fpsNow = 0;
  private frames = 0;
  private lastErrorText: string | null = null;
  private readonly onMic = (pcm: Buffer) => this.writeMic(pcm);

  constructor(private readonly opts: PublisherOptions) {
    super();
    const micInput: AudioSource | undefined = opts.mic
      ? { info: { kind: 'sim', device: 'mic capture (pipe:3)' }, ffmpegInput: () => [...lowDelayInput(), ...pcmFormat(), '-thread_queue_size', '64', '-i', 'pipe:3'] }
      : undefined;
    // Pipes carry live frames with known formats: no probing (FFmpeg would otherwise wait seconds
    // for data on every input before it starts).
    const video = { info: opts.tap.info, ffmpegInput: () => [...lowDelayInput(), ...opts.tap.ffmpegInput()] };
    this.supervisor = new FfmpegSupervisor({
      name: 'publish',
      logger: opts.log,
      stdin: true,
      extraPipes: micInput ? 1 : 0,
      progress: true,
      stallMs: PUBLISH_STALL_MS,
      firstOutputMs: PUBLISH_FIRST_OUTPUT_MS,
      minBackoffMs: PUBLISH_MIN_BACKOFF_MS,
      maxBackoffMs: PUBLISH_MAX_BACKOFF_MS,
      healthyAfterMs: 5000,
      args: () => rtspPublishArgs({
        url: opts.url(), video, ...(micInput ? { audio: micInput } : {}),
        videoKbps: opts.video.kbps, audioKbps: opts.audioKbps,
        fit: { width: opts.video.width, height: opts.video.height }, fps: opts.video.fps,
        ...(this.vstats ? { vstatsFile: this.vstats.path } : {}),
      }),
    });
    this.supervisor.on('spawn', (child: ChildProcess) => {
      this.last = null;
      this.advances = 0;
      if (child.stdin) this.stopFeed = opts.tap.attach(child.stdin);
      this.micPipe = (child.stdio[3] as Writable | null | undefined) ?? null;
    });
    this.supervisor.on('progress', (p: Record<string, string>) => this.onProgress(p));
    this.supervisor.on('exit', () => this.onExit());
  }

  get isLive(): boolean { return this.live; }
  get running(): boolean { return this.wanted; }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.lastErrorText = null;
    this.vstats ??= VideoStats.open(this.opts.log);
    this.opts.mic?.on('frame', this.onMic);
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    if (!this.wanted) return;
    this.wanted = false;
    this.opts.mic?.off('frame', this.onMic);
    await this.supervisor.stop();
    this.vstats?.close();
    this.vstats = null;
    this.endFeed();
    this.setLive(false);
  }

  /** Talk audio is playing on the speaker: send silence instead of the microphone. */
  duck(on: boolean): void {
    if (on !== this.ducked) this.opts.log.info(on ? 'mic ducked (talk playing)' : 'mic restored');
    this.ducked = on;
  }

  get isDucked(): boolean { return this.ducked; }

  stats(): PublisherStats {
    return {
      publishing: this.live,
      bitrate_kbps: this.live ? Math.round(this.vstats?.kbps() ?? this.kbps) : 0,
      fps: this.live ? Math.round(this.fpsNow * 10) / 10 : 0,
      frames: this.frames,
      restarts: this.supervisor.status.restarts,
      last_error: this.lastErrorText,
      ffmpeg: this.supervisor.status,
    };
  }

  private writeMic(pcm: Buffer): void {
    const pipe = this.micPipe;
    if (!pipe || pipe.destroyed || pipe.writableLength > MAX_MIC_QUEUED) return;
    pipe.write(this.ducked ? Buffer.alloc(pcm.length) : pcm);
  }

  private onProgress(p: Record<string, string>): void {
    const now = Date.now();
    const frame = Number(p.frame ?? 0);
    if (!this.last && !this.advances) this.opts.log.debug('progress', p);
    const size = Number(p.total_size ?? 0);
    if (Number.isFinite(frame)) this.frames = frame;
    const prev = this.last;
    this.last = { at: now, frame, size };
    if (!prev || now <= prev.at) return;
    const dt = (now - prev.at) / 1000;
    const fps = (frame - prev.frame) / dt;
    const kbps = Number.isFinite(size) && size >= prev.size ? ((size - prev.size) * 8) / dt / 1000 : 0;
    // Smoothed over ~2 s of 0.5 s reports: readable numbers, still quick to show a drop.
    this.fpsNow = this.advances ? this.fpsNow * 0.6 + fps * 0.4 : fps;
    this.kbps = this.advances ? this.kbps * 0.6 + kbps * 0.4 : kbps;
    // Live once frames have advanced over two reports: the RTSP session is up and taking data.
    if (frame > prev.frame && ++this.advances >= 2) this.setLive(true);
  }

  private onExit(): void {
    this.endFeed();
    if (!this.wanted) return;
    const reason = publishError(this.supervisor.status.lastError, this.opts.where);
    this.lastErrorText = reason;
    this.setLive(false);
    this.emit('down', reason);
  }

  private endFeed(): void {
    this.stopFeed?.();
    this.stopFeed = null;
    this.micPipe = null;
  }

  private setLive(live: boolean): void {
    if (live === this.live) return;
    this.live = live;
    if (live) {
      this.opts.log.info('publishing', { to: this.opts.where });
      this.emit('live');
    }
  }
}
