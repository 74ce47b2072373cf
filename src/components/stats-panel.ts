// The stats panel on the drive view: polls getStats() once a second while shown (WebRTC only) and
// lists it with the app's own measurements (glass-to-glass, command and link round trips). The
// timer runs only while the element is connected and is cleared on disconnect.

import { LitElement, css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { EMPTY_SUMMARY, statRows, summarize, type InboundLike, type StatsSample, type StatsSummary } from '../lib/video/stats.ts';
import { frameSize, type VideoSource } from '../lib/video/video-source.ts';
import { describePlayout, type AudioPlayout, type LowLatencyAudio } from '../lib/audio/low-latency-audio.ts';

const POLL_MS = 1000;

/** The robot voice's playout of a server-mode source (whose WHEP player says which is in use). */
function audioPlayoutOf(source: VideoSource | null): string | null {
  const p = (source as { audioPlayout?: AudioPlayout | null; lowLatency?: LowLatencyAudio | null } | null) ?? null;
  return describePlayout(p?.audioPlayout ?? null, p?.lowLatency?.stats ?? null);
}

@customElement('hv-stats-panel')
export class StatsPanel extends LitElement {
  static override styles = css`
    :host { display: block; font-size: 0.85rem; font-variant-numeric: tabular-nums; background: rgba(0 0 0 / 0.75); color: #fff; padding: 0.4rem 0.6rem; border-radius: 0.4rem; }
    dl { display: grid; grid-template-columns: auto auto; gap: 0.1rem 0.8rem; margin: 0; }
    dt { color: #cfd8de; } dd { margin: 0; font-weight: 700; }
  `;

  @property({ attribute: false }) source: VideoSource | null = null;
  @property({ type: Number }) glassMs: number | null = null;
  @property({ type: Number }) commandRttMs: number | null = null;
  @property({ type: Number }) linkRttMs: number | null = null;
  @state() private summary: StatsSummary = EMPTY_SUMMARY;
  private prev: StatsSample | null = null;
  private prevPc: RTCPeerConnection | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    void this.poll();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    const pc = (this.source as { pc?: RTCPeerConnection | null } | null)?.pc ?? null;
    if (pc !== this.prevPc) {
      this.prev = null;
      this.prevPc = pc;
    }
    if (!pc) {
      this.summary = EMPTY_SUMMARY;
      return;
    }
    try {
      const report = await pc.getStats();
      if (pc !== this.prevPc || !this.isConnected) return;
      const { summary, sample } = summarize(this.prev, report.values() as Iterable<InboundLike>);
      this.prev = sample;
      this.summary = summary;
    } catch {
      /* the connection closed meanwhile; the next poll sees the new one */
    }
  }

  override render() {
    const el = this.source?.element;
    const size = el ? frameSize(el) : { width: 0, height: 0 };
    const k = this.source?.kind;
    // Off NetEq, WebRTC's audio level stays 0: the app's playout reports the level it plays.
    const level = (this.source as { lowLatency?: LowLatencyAudio | null } | null)?.lowLatency?.stats?.level;
    const rows = statRows(level === undefined ? this.summary : { ...this.summary, audioLevel: level }, {
      glassMs: this.glassMs, commandRttMs: this.commandRttMs, linkRttMs: this.linkRttMs,
      width: size.width || null, height: size.height || null,
      videoKind: k === 'whep' ? 'webrtc' : k === 'hls' ? 'hls' : 'mjpeg',
      audioPlayout: audioPlayoutOf(this.source),
    });
    return html`<dl aria-label="Connection statistics">${rows.map((r) => html`<dt>${r.label}</dt><dd data-stat=${r.key}>${r.value}</dd>`)}</dl>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-stats-panel': StatsPanel }
}
