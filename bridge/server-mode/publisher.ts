// Server mode's outgoing stream: two supervised FFmpegs — H.264 from the shared capture (see
// hardware/index.ts videoTap) and Opus from the microphone — each sending RTP to a loopback port,
// and one RTSP session (rtsp-push.ts) that publishes both to MediaMTX as the packets come
// (arguments: media/ffmpeg-args.ts publishVideoArgs / publishAudioArgs). Two encoders, not one
// FFmpeg with both inputs: that one holds each stream back for the other (docs/PERFORMANCE.md).
//
// The microphone is not opened a second time either: MicCapture's PCM is written to the audio
// encoder's stdin as each capture period arrives ('pcm', not the WebSocket's 20 ms 'frame'). While
// the speaker plays the driver's talk audio the mic is DUCKED TO SILENCE (zeros written in its
// place) rather than paused: the Opus track keeps its timing (no gaps for the viewers' jitter
// buffers to stall on) and the driver never hears their own voice come back.
//
// Events: 'live' () once a run is really sending (RECORD accepted, frames advancing in -progress);
// 'down' (reason) when a run ends unasked (MediaMTX gone or refusing, an encoder crashed or
// stalled); it retries by itself with backoff (capped at PUBLISH_MAX_BACKOFF_MS so the stream is
// back quickly once MediaMTX is).

import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { Backoff } from '../../common/backoff.ts';
import type { VideoNote } from '../../protocol/messages.ts';
import type { Logger } from '../../common/log.ts';
import { Timers } from '../../common/state-machine.ts';
import type { MicService, VideoTap } from '../hardware/parts.ts';
import { lowDelayInput, PUBLISH_SDP, publishAudioArgs, publishVideoArgs, type H264Encoder, type RtpTarget } from '../media/ffmpeg-args.ts';
import { FfmpegSupervisor, type SupervisorStatus } from '../media/supervisor.ts';
import { publishError } from './errors.ts';
import { RtspPush } from './rtsp-push.ts';
import { UplinkMonitor } from './uplink-monitor.ts';
import { uplinkLadder, type UplinkPolicyOptions, type UplinkState, type UplinkStep, type VideoShape } from './uplink-policy.ts';
import { VideoStats } from './vstats.ts';

export const PUBLISH_STALL_MS = 2000;
/** Connect + authenticate + first frames: allowed longer than a stall in mid-stream. */
export const PUBLISH_FIRST_OUTPUT_MS = 5000;
export const PUBLISH_MIN_BACKOFF_MS = 300;
export const PUBLISH_MAX_BACKOFF_MS = 2000;
/** PCM waiting in the mic pipe beyond this is dropped (160 ms of 16 kHz s16le). */
const MAX_MIC_QUEUED = 8 * 640;
/** The RTSP handshake (connect, authenticate, ANNOUNCE, SETUP, RECORD) may take this long. */
const HANDSHAKE_MS = 5000;

export interface PublisherOptions {
  tap: VideoTap;
  mic: MicService | null;
  /** The publish URL with credentials (read on every start: config may have changed). */
  url: () => string;
  /** The credential-free address, for messages. */
  where: string;
  /** rtsps: the CA certificates to trust instead of the system's (read on every start). */
  ca?: () => Buffer | undefined;
  video: { width: number; height: number; fps: number; kbps: number };
  audioKbps: number;
  log: Logger;
  /** The uplink policy's times (tests shorten them; uplink-policy.ts has the defaults). */
  uplink?: Partial<Omit<UplinkPolicyOptions, 'now'>> & { sampleMs?: number };
}

export interface PublisherStats {
  publishing: boolean;
  /** The audio encoder runs while the stream is live (false without a microphone). */
  audio: boolean;
  bitrate_kbps: number;
  fps: number;
  frames: number;
  restarts: number;
  last_error: string | null;
  ffmpeg: SupervisorStatus;
  /** The video's step on the uplink ladder and why (uplink-policy.ts); null when not publishing. */
  uplink: (UplinkState & { adaptive: boolean }) | null;
}

export class Publisher extends EventEmitter {
  /** The video encoder whose frames are published; during a step, `retiring` is the one it replaces. */
  private video: FfmpegSupervisor;
  private retiring: FfmpegSupervisor | null = null;
  private readonly makeVideo: () => FfmpegSupervisor;
  private readonly audio: FfmpegSupervisor | null;
  private push: RtspPush | null = null;
  private ports: RtpTarget[] = [];
  /** The pause before the next run ('retry'). */
  private readonly timers = new Timers();
  private readonly backoff = new Backoff({ baseMs: PUBLISH_MIN_BACKOFF_MS, maxMs: PUBLISH_MAX_BACKOFF_MS });
  private restarts = 0;
  private encoder: H264Encoder | 'copy' = 'libx264';
  private vstats: VideoStats | null = null;
  /** Each video encoder's camera feed (two while a step hands over). */
  private readonly feeds = new Map<FfmpegSupervisor, () => void>();
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
  /** What the video encoder is asked for now: the configured video, or a step down the uplink ladder. */
  private shape: VideoShape;
  private uplink: UplinkMonitor | null = null;

  constructor(private readonly opts: PublisherOptions) {
    super();
    this.shape = { ...opts.video };
    // Pipes carry live frames with known formats: no probing (FFmpeg would otherwise wait seconds
    // for data on every input before it starts).
    const video = { info: opts.tap.info, ffmpegInput: () => [...lowDelayInput(), ...opts.tap.ffmpegInput()] };
    const encoder = { stdin: true, progress: true, stallMs: PUBLISH_STALL_MS, firstOutputMs: PUBLISH_FIRST_OUTPUT_MS, minBackoffMs: PUBLISH_MIN_BACKOFF_MS, maxBackoffMs: PUBLISH_MAX_BACKOFF_MS, healthyAfterMs: 5000 };
    this.makeVideo = () => {
      const sup: FfmpegSupervisor = new FfmpegSupervisor({
        name: 'publish-video', logger: opts.log, ...encoder,
        args: () => publishVideoArgs({
          video, to: this.ports[0]!, encoder: this.encoder, videoKbps: this.shape.kbps,
          fit: { width: this.shape.width, height: this.shape.height }, fps: this.shape.fps,
          ...(this.vstats ? { vstatsFile: this.vstats.path } : {}),
        }),
      });
      sup.on('spawn', (child: ChildProcess) => {
        if (sup === this.video) { this.last = null; this.advances = 0; }
        this.feeds.get(sup)?.();
        if (child.stdin) this.feeds.set(sup, opts.tap.attach(child.stdin));
        else this.feeds.delete(sup);
      });
      sup.on('progress', (p: Record<string, string>) => { if (sup === this.video) this.onProgress(p); });
      sup.on('exit', () => this.onEncoderExit(sup));
      return sup;
    };
    this.video = this.makeVideo();
    this.audio = opts.mic
      ? new FfmpegSupervisor({ name: 'publish-audio', logger: opts.log, ...encoder, args: () => publishAudioArgs({ to: this.ports[1]!, audioKbps: opts.audioKbps }) })
      : null;
    this.audio?.on('spawn', (child: ChildProcess) => { this.micPipe = child.stdin ?? null; });
    this.audio?.on('exit', () => { this.micPipe = null; this.onEncoderExit(this.audio!); });
  }

  get isLive(): boolean { return this.live; }
  get running(): boolean { return this.wanted; }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.lastErrorText = null;
    this.backoff.reset();
    this.vstats ??= VideoStats.open(this.opts.log);
    this.opts.mic?.on('pcm', this.onMic);
    this.shape = { ...this.opts.video };
    this.uplink = new UplinkMonitor(uplinkLadder(this.opts.video), this.opts.uplink);
    this.uplink.on('step', (step: UplinkStep) => void this.applyStep(step));
    void this.connect();
  }

  async stop(): Promise<void> {
    if (!this.wanted) return;
    this.wanted = false;
    this.opts.mic?.off('pcm', this.onMic);
    this.timers.clearAll();
    this.uplink?.close();
    this.uplink = null;
    this.push?.close();
    this.push = null;
    await this.stopEncoders();
    this.vstats?.close();
    this.vstats = null;
    this.setLive(false);
  }

  /** One run: the RTSP session first (so the first keyframe is not lost), then the encoders. */
  private async connect(): Promise<void> {
    if (!this.wanted) return;
    // The camera's own H.264, or the encoder the probe found (it runs once, at the bridge's start).
    this.encoder = (await this.opts.tap.encoder?.()) ?? 'libx264';
    if (!this.wanted) return;
    // Audio starts after the backlog of PCM its encoder starts on, and after the video (rtsp-push.ts).
    const tracks = [{ sdp: PUBLISH_SDP.video }, ...(this.audio ? [{ sdp: PUBLISH_SDP.audio, dropBacklog: true }] : [])];
    let push: RtspPush;
    try {
      push = new RtspPush({ url: this.opts.url(), tracks, timeoutMs: HANDSHAKE_MS, ca: this.opts.ca?.() });
    } catch (err) {
      return this.fail(null, err as Error);
    }
    this.push = push;
    push.on('error', (err: Error) => this.fail(push, err));
    try {
      this.ports = await push.listen();
      await push.start();
    } catch (err) {
      return this.fail(push, err as Error);
    }
    if (this.push !== push || !this.wanted) return;
    this.uplink?.watch(push);
    this.video.start();
    this.audio?.start();
  }

  /**
   * The uplink policy chose another step: a new video encoder with its bitrate, frame rate and
   * size, on the same RTSP session, started BEFORE the old one stops (make before break): the
   * old one's frames go on until the new one's first packet, which takes over the track
   * (rtp-timeline.ts: a newer encoder's SSRC retires the older, its timestamps continue the
   * stream), and only then is the old one stopped. Viewers see the stream go on, never a restart.
   * The camera's own H.264 is sent as it is: nothing to re-encode, so nothing to step (the
   * policy's state still says the uplink's).
   */
  private async applyStep(step: UplinkStep): Promise<void> {
    if (this.encoder === 'copy' || !this.wanted) return;
    this.shape = { kbps: step.kbps, fps: step.fps, width: step.width, height: step.height };
    this.opts.log.info('uplink step', { step: step.name, ...this.shape, reason: this.uplink?.state.reason });
    if (!this.push || this.video.status.state === 'stopped' || this.retiring) return;
    const old = this.video;
    const next = this.makeVideo();
    this.retiring = old;
    this.video = next;
    next.start();
    // The new encoder has taken over once its first frames are out (-progress advancing); bounded,
    // so a new encoder that does not start cannot keep two running.
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); next.off('progress', done); next.off('exit', done); resolve(); };
      const timer = setTimeout(done, PUBLISH_FIRST_OUTPUT_MS);
      next.on('progress', done);
      next.on('exit', done);
    });
    await old.stop();
    this.retiring = null;
    // A step that came while this one was handing over: apply the latest now.
    const latest = this.uplink?.state;
    if (this.wanted && latest && latest.name !== step.name) await this.applyStep({ name: latest.name, ...latest.shape });
  }

  /** The session failed or was refused: encoders down, 'down' once, then a new run after a pause. */
  private fail(push: RtspPush | null, err: Error): void {
    if (push && this.push !== push) return;
    this.push = null;
    this.uplink?.watch(null);
    push?.close();
    if (!this.wanted) return;
    const reason = publishError(err.message, this.opts.where);
    this.lastErrorText = reason;
    this.restarts++;
    const pause = this.backoff.next();
    this.opts.log.warn('publish failed', { reason, retryInMs: pause });
    this.setLive(false);
    this.emit('down', reason);
    void this.stopEncoders();
    // A 'down' listener may have stopped the publisher: then no retry may outlive stop().
    if (this.wanted) this.timers.after(pause, () => void this.connect(), 'retry');
  }

  private async stopEncoders(): Promise<void> {
    for (const stopFeed of this.feeds.values()) stopFeed();
    this.feeds.clear();
    this.micPipe = null;
    await Promise.all([this.video.stop(), this.retiring?.stop(), this.audio?.stop()]);
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
      audio: this.live && this.audio?.status.state === 'running',
      // The camera's own H.264 is copied: no encoder writes -vstats, so the rate is that of the
      // video RTP actually forwarded to MediaMTX.
      bitrate_kbps: this.live ? Math.round(this.encoder === 'copy' ? (this.push?.kbps(0) ?? 0) : (this.vstats?.kbps() ?? this.kbps)) : 0,
      fps: this.live ? Math.round(this.fpsNow * 10) / 10 : 0,
      frames: this.frames,
      restarts: this.restarts + this.video.status.restarts + (this.audio?.status.restarts ?? 0),
      last_error: this.lastErrorText,
      ffmpeg: this.video.status,
      uplink: this.live && this.uplink ? { ...this.uplink.state, adaptive: this.encoder !== 'copy' } : null,
    };
  }

  /** For the viewers' telemetry: the step the video is at and why, while below full quality. */
  videoNote(): VideoNote | undefined {
    const u = this.live && this.encoder !== 'copy' ? this.uplink?.state : undefined;
    return u && u.step > 0 ? { step: u.step, of: u.of, name: u.name, reason: u.reason } : undefined;
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
    // Live once frames have advanced over two reports on a recording session.
    if (frame > prev.frame && ++this.advances >= 2 && this.push) {
      this.backoff.reset();
      this.setLive(true);
    }
  }

  /** An encoder crashed or stalled: its supervisor restarts it; the stream is not live until frames flow again. */
  private onEncoderExit(which: FfmpegSupervisor): void {
    if (which !== this.audio) { this.feeds.get(which)?.(); this.feeds.delete(which); }
    // The encoder a step replaced: its end is the plan.
    if (which !== this.video && which !== this.audio) return;
    if (!this.wanted || !this.push) return;
    const status = which.status;
    // Stopped on purpose (stop(), or a new step of the uplink ladder): not a failure.
    if (status.state === 'stopped' || which.lifecycle === 'stopping') return;
    const reason = publishError(status.lastError ?? `${which.name} exited`, this.opts.where);
    this.lastErrorText = reason;
    if (which === this.video && this.live) {
      this.setLive(false);
      this.emit('down', reason);
    }
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
