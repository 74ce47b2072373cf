// The last-resort video in server mode: MediaMTX's low-latency HLS in a <video>, when WebRTC cannot
// get a media path (UDP blocked). ~0.6 s behind: fine to watch, not to drive — the drive view says
// so. hls.js (lowLatencyMode) where the classic MediaSource exists, otherwise the browser's native
// HLS (iOS). hls.js is imported only here, and this file only when HLS is needed: it is big.
//
// States: idle → loading → playing; a fatal error → error, then a retry after RETRY_MS with a fresh
// player; stopped destroys the player. MediaMTX answers the first GET with a redirect to
// `?cookieCheck=1` (hls.js and native players both follow it); the token goes in `?token=` on
// the playlist and as `Authorization: Bearer` on every request hls.js makes (segments too).

import { withToken } from './webrtc-sdp.ts';
import { JUMP_COOLDOWN_MS, liveEdgeJump } from './live-edge.ts';
import type { VideoSource, VideoState } from './video-source.ts';

const RETRY_MS = 2000;

type HlsModule = typeof import('hls.js');
type HlsInstance = InstanceType<HlsModule['default']>;

export interface HlsOptions {
  token: () => string;
  /** Force the native player (tests) or hls.js; default: hls.js when MSE exists. */
  engine?: 'native' | 'hlsjs';
}

/**
 * Which player: hls.js where the classic MediaSource exists (desktop browsers, Android: its
 * low-latency mode is the tested path), else the browser's own HLS where it says it plays it —
 * iPhones, where every browser is Safari underneath and only iOS 17.1+ has (Managed)MediaSource,
 * which also needs AirPlay turned off to open at all. hls.js over ManagedMediaSource is last.
 */
export function hlsEngine(video: Pick<HTMLVideoElement, 'canPlayType'>, win: object = window): 'native' | 'hlsjs' {
  if ('MediaSource' in win) return 'hlsjs';
  if (video.canPlayType('application/vnd.apple.mpegurl')) return 'native';
  return 'ManagedMediaSource' in win ? 'hlsjs' : 'native';
}

export class HlsPlayer implements VideoSource {
  readonly kind = 'hls' as const;
  readonly element: HTMLVideoElement;
  state: VideoState = 'idle';
  error: string | null = null;
  private hls: HlsInstance | null = null;
  private url = '';
  private gen = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private lastJumpAt = -Infinity;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: HlsOptions) {
    const v = document.createElement('video');
    v.autoplay = true;
    v.playsInline = true;
    v.muted = true;
    // ManagedMediaSource (hls.js on iOS) opens only with AirPlay off: a robot camera is never cast.
    v.disableRemotePlayback = true;
    v.setAttribute('aria-label', 'Robot camera (HLS)');
    v.addEventListener('playing', () => {
      if (this.state === 'loading') this.set('playing', null);
    });
    // timeupdate comes ~4 times a second while playing, and once more when a paused tab resumes.
    v.addEventListener('timeupdate', () => this.keepLive());
    v.addEventListener('error', () => {
      if (this.state === 'loading' || this.state === 'playing') this.failed('The HLS stream failed.');
    });
    this.element = v;
  }

  start(url: string): void {
    this.url = url;
    void this.load();
  }

  stop(): void {
    this.gen++;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.destroy();
    if (this.state !== 'idle') this.set('stopped', null);
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async load(): Promise<void> {
    const gen = ++this.gen;
    clearTimeout(this.retry);
    this.destroy();
    this.set('loading', null);
    const token = this.opts.token();
    const src = withToken(this.url, token);
    const engine = this.opts.engine ?? hlsEngine(this.element);
    if (engine === 'native') {
      if (!this.element.canPlayType('application/vnd.apple.mpegurl')) return this.failed('This browser cannot play HLS.');
      this.element.src = src;
      return;
    }
    let Hls: HlsModule['default'];
    try {
      Hls = (await import('hls.js')).default;
    } catch (e) {
      if (gen === this.gen) this.failed(`Cannot load the HLS player: ${(e as Error).message}`);
      return;
    }
    if (gen !== this.gen) return;
    const hls = new Hls({
      // Live edge as close as the parts allow: the target latency is the playlist's PART-HOLD-BACK
      // (MediaMTX: 2.5 parts). Setting liveSyncDuration(Count) would override it with whole
      // segments (1 s here). No back buffer kept: nobody seeks a robot camera.
      lowLatencyMode: true,
      backBufferLength: 0,
      // Back to the target after falling behind: faster playback for a small lag (hls.js does it
      // only within a segment of the target), keepLive() jumps for a large one. hls.js would also
      // add 1 s to its target for good after each stall (up to a segment): a robot camera would
      // rather rebuffer again than stay a second late.
      maxLiveSyncPlaybackRate: 1.5,
      liveSyncOnStallIncrease: 0,
      xhrSetup: (xhr) => {
        if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      },
    });
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (gen !== this.gen || !data.fatal) return;
      this.failed(`HLS ${data.type}: ${data.details}`);
    });
    hls.loadSource(src);
    hls.attachMedia(this.element);
  }

  /** Jumps back to the live edge when the player is too far behind to catch up by playing faster. */
  private keepLive(): void {
    const hls = this.hls;
    if (!hls || performance.now() - this.lastJumpAt < JUMP_COOLDOWN_MS) return;
    const v = this.element;
    const to = liveEdgeJump({ latency: hls.latency, targetLatency: hls.targetLatency, syncPosition: hls.liveSyncPosition, currentTime: v.currentTime, paused: v.paused });
    if (to === null) return;
    this.lastJumpAt = performance.now();
    v.currentTime = to;
  }

  private failed(error: string): void {
    const gen = ++this.gen;
    this.destroy();
    this.set('error', `${error} Retrying…`);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (gen === this.gen && this.state === 'error') void this.load();
    }, RETRY_MS);
  }

  private destroy(): void {
    this.hls?.destroy();
    this.hls = null;
    this.element.removeAttribute('src');
    this.element.load();
  }

  private set(state: VideoState, error: string | null): void {
    this.state = state;
    this.error = error;
    for (const fn of this.listeners) fn();
  }
}
