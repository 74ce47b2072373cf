// Server mode's video: the robot's stream read from MediaMTX over WHEP into a <video>. The session
// state machine is webrtc-session.ts; this adds what a reader needs: recvonly video + audio, the
// lowest jitter buffer the browser allows on the video and audio receivers alike (the operator
// talks with the robot, so sound is as live as the picture), and a stall watch: when no new frame is decoded for STALL_MS the session counts as
// dropped (a SIGKILLed server is noticed in about a second, long before ICE consent gives up).
// The robot's voice skips NetEq where the browser can (../audio/low-latency-audio.ts): NetEq's
// target followed the machine's load to 65-160 ms, a fixed 30 ms buffer does not.

import { RtcSession, type RtcFailure, type RtcSessionOptions } from './webrtc-session.ts';
import { separateAudioStream } from './webrtc-sdp.ts';
import { preferBaselineH264 } from './h264-baseline.ts';
import type { VideoSource, VideoState } from './video-source.ts';
import { appPlayoutAssets, LowLatencyAudio, playoutSupport, playoutSupported, type AudioPlayout, type LowLatencyAssets } from '../audio/low-latency-audio.ts';

export const STALL_MS = 1000;
/** Connected but no first frame by then: as good as stalled. */
export const FIRST_FRAME_MS = 4000;
const STATS_EVERY_MS = 500;

export interface WhepOptions {
  token: () => string;
  autoRestart?: boolean;
  retryPauseMs?: number;
  iceTimeoutMs?: number;
  stallMs?: number;
  fetch?: typeof fetch;
  PeerConnection?: typeof RTCPeerConnection;
  log?: (line: string) => void;
  /** The robot's voice through a fixed small buffer instead of NetEq where the browser can (the app's own files unless given); false: NetEq. */
  lowLatencyAudio?: LowLatencyAssets | false;
}

/** Lowest playout delay on a receiver (video and audio alike: the operator talks with the robot); older Chromium knows only playoutDelayHint (seconds). */
export function lowLatencyReceiver(receiver: RTCRtpReceiver): void {
  const r = receiver as unknown as { jitterBufferTarget?: number | null; playoutDelayHint?: number };
  if ('jitterBufferTarget' in receiver) r.jitterBufferTarget = 0;
  else r.playoutDelayHint = 0;
}

export class WhepPlayer implements VideoSource {
  readonly kind = 'whep' as const;
  readonly element: HTMLVideoElement;
  state: VideoState = 'idle';
  error: string | null = null;
  private session: RtcSession | null = null;
  private readonly listeners = new Set<() => void>();
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private lastFrames = -1;
  private lastProgressAt = 0;
  /** The robot's voice off NetEq (null: not attached, or NetEq plays it). */
  lowLatency: LowLatencyAudio | null = null;
  /** Which playout the robot's voice has (null before the first offer). */
  audioPlayout: AudioPlayout | null = null;

  constructor(private readonly opts: WhepOptions) {
    // Known before the first offer, where the audio receiver is set up.
    if (opts.lowLatencyAudio !== false) void playoutSupport();
    const v = document.createElement('video');
    v.autoplay = true;
    v.playsInline = true;
    // Muted until the operator asks for sound: autoplay with sound is refused without a gesture.
    v.muted = true;
    v.setAttribute('aria-label', 'Robot camera');
    // The operator's sound switch mutes the element; the low-latency playout follows it.
    v.addEventListener('volumechange', () => this.lowLatency?.setMuted(v.muted));
    v.addEventListener('playing', () => {
      if (this.session?.state === 'connected') this.set('playing', null);
    });
    this.element = v;
  }

  /** The current peer connection, for getStats() (null between runs). */
  get pc(): RTCPeerConnection | null {
    return this.session?.pc ?? null;
  }

  /** Why the last run failed (null while fine). */
  get failure(): RtcFailure | null {
    return this.session?.failure ?? null;
  }

  /** The session's own state (finer than VideoState). */
  get rtcState() {
    return this.session?.state ?? 'idle';
  }

  start(url: string): void {
    this.stop();
    const o = this.opts;
    const stream = new MediaStream();
    const options: RtcSessionOptions = {
      kind: 'whep',
      url,
      token: o.token,
      setup: (pc) => {
        preferBaselineH264(pc.addTransceiver('video', { direction: 'recvonly' }));
        this.takeAudio(pc.addTransceiver('audio', { direction: 'recvonly' }).receiver);
        pc.ontrack = (ev) => {
          lowLatencyReceiver(ev.receiver);
          for (const t of stream.getTracks()) if (t.kind === ev.track.kind) stream.removeTrack(t);
          stream.addTrack(ev.track);
          if (this.element.srcObject !== stream) this.element.srcObject = stream;
        };
      },
      // The picture is what the driver steers by: it must not wait for the slower audio.
      editAnswer: separateAudioStream,
      onChange: () => this.onSession(),
      ...(o.autoRestart !== undefined ? { autoRestart: o.autoRestart } : {}),
      ...(o.retryPauseMs !== undefined ? { retryPauseMs: o.retryPauseMs } : {}),
      ...(o.iceTimeoutMs !== undefined ? { iceTimeoutMs: o.iceTimeoutMs } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.PeerConnection ? { PeerConnection: o.PeerConnection } : {}),
      ...(o.log ? { log: o.log } : {}),
    };
    this.session = new RtcSession(options);
    this.session.start();
  }

  stop(): void {
    const s = this.session;
    this.session = null;
    this.stopWatch();
    s?.close();
    this.dropAudio();
    this.element.srcObject = null;
    if (this.state !== 'idle') this.set('stopped', null);
  }

  /**
   * Moves the robot's voice off NetEq when the browser has what it takes (checked when the player
   * is made); NetEq keeps it otherwise. Called before the offer: Chromium 156 passes no frame to a
   * transform set on a receiver in `ontrack` when MediaMTX sends (NetEq then gets none either).
   */
  private takeAudio(receiver: RTCRtpReceiver): void {
    this.dropAudio();
    const assets = this.opts.lowLatencyAudio ?? null;
    if (assets === false || playoutSupported() !== true) {
      this.audioPlayout = 'neteq';
      return;
    }
    try {
      this.lowLatency = new LowLatencyAudio(receiver, assets ?? appPlayoutAssets(), this.element.muted);
      this.audioPlayout = 'low-latency';
    } catch (err) {
      this.opts.log?.(`low-latency audio unavailable, NetEq plays it: ${String(err)}`);
      this.audioPlayout = 'neteq';
    }
  }

  private dropAudio(): void {
    this.lowLatency?.close();
    this.lowLatency = null;
    this.audioPlayout = null;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private onSession(): void {
    const s = this.session;
    if (!s) return;
    switch (s.state) {
      case 'offering':
      case 'connecting':
        this.stopWatch();
        this.set('loading', null);
        break;
      case 'connected':
        this.startWatch();
        // 'playing' follows from the element (or from the first decoded frame in the watch).
        if (!this.element.paused && this.element.readyState >= 2) this.set('playing', null);
        else this.set('loading', null);
        break;
      case 'restarting':
      case 'failed':
        this.stopWatch();
        this.set('error', s.error);
        break;
      case 'closed':
      case 'idle':
        this.stopWatch();
        break;
    }
  }

  private startWatch(): void {
    this.stopWatch();
    this.lastFrames = -1;
    this.lastProgressAt = performance.now();
    this.statsTimer = setInterval(() => void this.watch(), STATS_EVERY_MS);
  }

  private stopWatch(): void {
    clearInterval(this.statsTimer);
    this.statsTimer = undefined;
  }

  private async watch(): Promise<void> {
    const session = this.session;
    const pc = session?.pc;
    if (!session || !pc || session.state !== 'connected') return;
    let frames = -1;
    try {
      const report = await pc.getStats();
      report.forEach((s: { type?: string; kind?: string; framesDecoded?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && typeof s.framesDecoded === 'number') frames = Math.max(frames, s.framesDecoded);
      });
    } catch {
      return;
    }
    // Re-check: the session may have been replaced or closed while getStats ran.
    if (this.session !== session || session.state !== 'connected') return;
    const now = performance.now();
    if (frames > this.lastFrames) {
      if (this.lastFrames < 0 && frames > 0 && this.state !== 'playing') this.set('playing', null);
      if (frames > 0) this.lastProgressAt = now;
      this.lastFrames = frames;
    }
    const limit = this.lastFrames > 0 ? this.opts.stallMs ?? STALL_MS : FIRST_FRAME_MS;
    if (now - this.lastProgressAt > limit) session.fail('dropped', this.lastFrames > 0 ? 'Video stalled.' : 'Connected, but no video arrived.');
  }

  private set(state: VideoState, error: string | null): void {
    if (this.state === state && this.error === error) return;
    this.state = state;
    this.error = error;
    for (const fn of this.listeners) fn();
  }
}
