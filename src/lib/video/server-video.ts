// Server mode's picture: WebRTC (WHEP) first; when WebRTC cannot find a media path (ICE failure,
// i.e. UDP blocked — the server itself answered) it switches to HLS for good and says so. Any
// other failure (server unreachable, nothing published, refused, a stall after playing) is left to
// the WHEP player's own restart — and reported through `failure`, so Auto mode can fall back to
// local instead of waiting.

import { HlsPlayer } from './hls-player.ts';
import type { RtcFailure } from './webrtc-session.ts';
import { WhepPlayer, type WhepOptions } from './whep-player.ts';
import type { VideoKind, VideoSource, VideoState } from './video-source.ts';
import type { AudioPlayout, LowLatencyAudio } from '../audio/low-latency-audio.ts';

export interface ServerVideoOptions extends WhepOptions {
  hlsUrl: string;
  /** Start on HLS (the operator or a test asked for it). */
  preferHls?: boolean;
}

export class ServerVideo implements VideoSource {
  private whep: WhepPlayer | null = null;
  private hls: HlsPlayer | null = null;
  private unsub: (() => void) | null = null;
  private readonly listeners = new Set<() => void>();
  /** Why HLS is in use (null on WebRTC). */
  hlsReason: string | null = null;

  constructor(private readonly opts: ServerVideoOptions) {}

  private get active(): VideoSource | null {
    return this.hls ?? this.whep;
  }
  get kind(): VideoKind {
    return this.hls ? 'hls' : 'whep';
  }
  get state(): VideoState {
    return this.active?.state ?? 'idle';
  }
  get error(): string | null {
    return this.active?.error ?? null;
  }
  get element(): HTMLVideoElement {
    return (this.active?.element as HTMLVideoElement | undefined) ?? placeholder();
  }
  /** The WebRTC peer connection while on WHEP (for the stats panel). */
  get pc(): RTCPeerConnection | null {
    return this.hls ? null : (this.whep?.pc ?? null);
  }
  /** The robot voice's playout while on WHEP (for the stats panel; HLS plays it from the element). */
  get audioPlayout(): AudioPlayout | null {
    return this.hls ? null : (this.whep?.audioPlayout ?? null);
  }
  get lowLatency(): LowLatencyAudio | null {
    return this.hls ? null : (this.whep?.lowLatency ?? null);
  }
  /** A failure Auto mode should leave the server for (never `ice`: that one goes to HLS here). */
  get failure(): RtcFailure | 'hls' | null {
    if (this.hls) return this.hls.state === 'error' ? 'hls' : null;
    return this.whep?.failure ?? null;
  }

  start(whepUrl: string): void {
    this.stop();
    if (this.opts.preferHls) return this.toHls('HLS chosen in settings.');
    const whep = new WhepPlayer(this.opts);
    this.whep = whep;
    this.unsub = whep.onChange(() => {
      if (this.whep !== whep) return;
      if (whep.failure === 'ice') this.toHls('WebRTC could not connect (UDP blocked?).');
      else this.emit();
    });
    whep.start(whepUrl);
  }

  stop(): void {
    this.unsub?.();
    this.unsub = null;
    this.whep?.stop();
    this.hls?.stop();
    this.whep = this.hls = null;
    this.hlsReason = null;
    this.emit();
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private toHls(reason: string): void {
    this.unsub?.();
    this.whep?.stop();
    this.whep = null;
    const hls = new HlsPlayer({ token: this.opts.token });
    this.hls = hls;
    this.hlsReason = reason;
    this.unsub = hls.onChange(() => {
      if (this.hls === hls) this.emit();
    });
    hls.start(this.opts.hlsUrl);
    this.emit();
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}

let empty: HTMLVideoElement | null = null;
const placeholder = (): HTMLVideoElement => (empty ??= document.createElement('video'));
