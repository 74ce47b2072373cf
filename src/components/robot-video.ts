// The robot's picture. Shows whatever video source it is given (MJPEG <img> in local mode, a
// <video> from WHEP or HLS in server mode — the path selector decides and may swap it at any
// time) and runs the glass-to-glass meter on it; reports the latency upward in `latency` events.
// Properties down: the source, a clock conversion from the link, and the robot's note when it has
// lowered its video to fit its uplink (said on the picture, where the operator looks, without
// moving any control).

import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { VideoNote } from '../../protocol/messages.ts';
import { GlassToGlassMeter } from '../lib/video/glass-to-glass.ts';
import { frameSize, type VideoSource } from '../lib/video/video-source.ts';

@customElement('hv-robot-video')
export class RobotVideo extends LitElement {
  static override styles = css`
    :host { display: block; position: relative; background: #000; overflow: hidden; }
    img, video { width: 100%; height: 100%; object-fit: contain; display: block; }
    .msg { position: absolute; inset: 0; display: grid; place-items: center; color: #fff; font-weight: 700; text-align: center; padding: 1rem; }
    .note { position: absolute; left: 0; right: 0; bottom: 0; padding: 0.2rem 0.5rem; font-size: 0.8rem; line-height: 1.25;
      color: #ffd400; background: rgba(0, 0, 0, 0.6); text-align: center; overflow-wrap: anywhere; }
  `;

  @property({ attribute: false }) source: VideoSource | null = null;
  @property({ attribute: false }) toLocal: (robotMs: number) => number = (t) => t;
  /** The robot's published video is stepped down to fit its uplink (server mode), with why. */
  @property({ attribute: false }) note: VideoNote | null = null;
  @state() private tick = 0;
  private meter = new GlassToGlassMeter(() => this.source?.element ?? null, (t) => this.toLocal(t), () => this.report());
  private unsub: (() => void) | null = null;
  private lastReported: number | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    this.follow();
    this.meter.start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsub?.();
    this.unsub = null;
    this.meter.stop();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('source') && this.isConnected) {
      this.follow();
      // A new source is a new pipeline: old readings say nothing about it.
      this.meter.reset();
    }
  }

  get latencyMs(): number | null {
    return this.meter.latencyMs;
  }

  /** Width / height of the picture shown (null before the first frame), for a layout to fit it. */
  get aspect(): number | null {
    const el = this.source?.element;
    if (!el) return null;
    const { width, height } = frameSize(el);
    return width && height ? width / height : null;
  }

  /** What the source reports, for the operator (null while playing). */
  get message(): string | null {
    const s = this.source;
    if (!s) return 'Waiting for video…';
    return s.state === 'playing' ? null : s.state === 'error' ? s.error : s.state === 'loading' || s.state === 'idle' ? 'Waiting for video…' : null;
  }

  override render() {
    void this.tick;
    const msg = this.message;
    const note = this.note;
    return html`${this.source?.element ?? nothing}${msg ? html`<div class="msg">${msg}</div>` : nothing}${note
      ? html`<div class="note" role="status" title=${`step ${note.step} of ${note.of - 1} below full quality`}>Video lowered to ${note.name}: ${note.reason}</div>`
      : nothing}`;
  }

  private follow(): void {
    this.unsub?.();
    this.unsub = this.source?.onChange(() => this.tick++) ?? null;
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
