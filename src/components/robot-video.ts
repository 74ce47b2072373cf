// The robot's picture. Owns a video source (MJPEG in local mode) and the glass-to-glass meter;
// reports the latency upward in `latency` events. Properties down: the stream URL and a clock
// conversion from the link.

import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { GlassToGlassMeter } from '../lib/video/glass-to-glass.ts';
import { MjpegSource } from '../lib/video/mjpeg-source.ts';
import type { VideoSource } from '../lib/video/video-source.ts';

@customElement('hv-robot-video')
export class RobotVideo extends LitElement {
  static override styles = css`
    :host { display: block; position: relative; background: #000; overflow: hidden; }
    img, video { width: 100%; height: 100%; object-fit: contain; display: block; }
    .msg { position: absolute; inset: 0; display: grid; place-items: center; color: #fff; font-weight: 700; text-align: center; padding: 1rem; }
  `;

  @property() url = '';
  @property({ attribute: false }) toLocal: (robotMs: number) => number = (t) => t;
  @state() private message: string | null = 'Waiting for video…';
  private source: VideoSource = new MjpegSource();
  private meter = new GlassToGlassMeter(() => this.source.element, (t) => this.toLocal(t), () => this.report());
  private unsub: (() => void) | null = null;
  private lastReported: number | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    this.unsub = this.source.onChange(() => {
      const s = this.source;
      this.message = s.state === 'playing' ? null : s.state === 'error' ? s.error : s.state === 'loading' ? 'Waiting for video…' : null;
    });
    if (this.url) this.source.start(this.url);
    this.meter.start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsub?.();
    this.source.stop();
    this.meter.stop();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('url') && this.isConnected) {
      if (this.url) this.source.start(this.url);
      else this.source.stop();
    }
  }

  get latencyMs(): number | null {
    return this.meter.latencyMs;
  }

  override render() {
    return html`${this.source.element}${this.message ? html`<div class="msg">${this.message}</div>` : nothing}`;
  }

  // Throttled upward: only when the rounded value changes by more than a few ms.
  private report(): void {
    const v = this.meter.latencyMs;
    if (v === this.lastReported || (v !== null && this.lastReported !== null && Math.abs(v - this.lastReported) < 3)) return;
    this.lastReported = v;
    this.dispatchEvent(new CustomEvent<number | null>('latency', { detail: v, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-robot-video': RobotVideo }
}
