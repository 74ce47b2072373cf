// The bridge's MJPEG stream in an <img>. States: idle → loading → playing; error → retry after a
// pause (the same URL with a fresh cache-buster); stopped drops the connection (src cleared).

import type { VideoSource, VideoState } from './video-source.ts';

const RETRY_MS = 2000;

export class MjpegSource implements VideoSource {
  readonly kind = 'mjpeg' as const;
  readonly element: HTMLImageElement;
  state: VideoState = 'idle';
  error: string | null = null;
  private url = '';
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor() {
    const img = document.createElement('img');
    img.alt = 'Robot camera';
    img.decoding = 'async';
    // No crossOrigin: a robot on another origin may not send CORS, and the picture matters more
    // than the latency readout (which then hides itself: the canvas is tainted).
    img.addEventListener('load', () => {
      if (this.state === 'loading') this.set('playing', null);
    });
    img.addEventListener('error', () => {
      if (this.state !== 'loading' && this.state !== 'playing') return;
      this.set('error', 'No video from the robot. Retrying…');
      clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        if (this.state === 'error') this.load();
      }, RETRY_MS);
    });
    this.element = img;
  }

  start(url: string): void {
    this.url = url;
    this.load();
  }

  stop(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    // An empty src closes the multipart response; the bridge then stops encoding for us.
    this.element.removeAttribute('src');
    this.set('stopped', null);
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private load(): void {
    clearTimeout(this.retry);
    this.set('loading', null);
    const u = new URL(this.url);
    u.searchParams.set('_', Date.now().toString(36));
    this.element.src = u.href;
  }

  private set(state: VideoState, error: string | null): void {
    this.state = state;
    this.error = error;
    for (const fn of this.listeners) fn();
  }
}
