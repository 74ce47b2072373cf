// The heads-up line over the video: link quality (bars and words), battery, command round trip,
// glass-to-glass latency and who drives. A value that is not measured is not shown (no dashes
// pretending). Why the video is lowered is said on the picture (robot-video.ts).

import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { LinkState } from '../lib/link/link.ts';
import { linkQuality, QUALITY_BARS } from '../lib/link/link-quality.ts';

export const LINK_LABEL: Record<LinkState, string> = {
  idle: 'not connected', connecting: 'connecting', live: 'live', degraded: 'weak link', lost: 'link lost', closed: 'disconnected',
};

@customElement('hv-hud')
export class HudLine extends LitElement {
  static override styles = css`
    :host { display: flex; flex-wrap: wrap; gap: 0.35rem 0.8rem; align-items: center; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
    /* One item never wraps inside; one wider than the line (a long driver name) ends in an ellipsis, its title says it all. */
    span { white-space: nowrap; max-width: 100%; overflow: hidden; text-overflow: ellipsis; box-sizing: border-box; }
    .state { padding: 0.1rem 0.5rem; border-radius: 0.4rem; font-weight: 700; color: #000; }
    .live { background: #39e07a; } .degraded, .connecting { background: #ffd400; }
    .lost, .closed, .idle { background: #ff6b6b; }
    .low { color: #ff6b6b; font-weight: 700; }
    .you { color: #ffd400; font-weight: 700; }
    .state .bars { overflow: visible; max-width: none; display: inline-flex; align-items: flex-end; gap: 2px; height: 0.9em; margin-right: 0.3rem; vertical-align: -0.05em; }
    .bars i { width: 3px; background: rgba(0, 0, 0, 0.25); border-radius: 1px; }
    .bars i:nth-child(1) { height: 40%; } .bars i:nth-child(2) { height: 70%; } .bars i:nth-child(3) { height: 100%; }
    .bars i.on { background: #000; }
  `;

  @property() linkState: LinkState = 'idle';
  @property({ type: Number }) battery: number | null = null;
  @property({ type: Number }) linkRttMs: number | null = null;
  @property({ type: Number }) commandRttMs: number | null = null;
  @property({ type: Number }) glassMs: number | null = null;
  @property() driver: string | null = null;
  @property({ type: Boolean }) youDrive = false;

  override render() {
    const who = this.youDrive ? 'you drive' : this.driver ? `${this.driver} drives` : 'nobody drives';
    const quality = linkQuality(this.linkState, this.linkRttMs);
    const bars = QUALITY_BARS[quality];
    return html`<span class="state ${this.linkState}" role="status" title=${`link quality: ${quality}`}
      aria-label=${`${LINK_LABEL[this.linkState]}${this.linkRttMs !== null ? `, ${this.linkRttMs} ms` : ''}, link quality ${quality}`}><span class="bars" aria-hidden="true">${[1, 2, 3].map((i) => html`<i class=${i <= bars ? 'on' : ''}></i>`)}</span>${LINK_LABEL[this.linkState]}${this.linkRttMs !== null ? html` · ${this.linkRttMs} ms` : nothing}</span>
      ${this.battery !== null ? html`<span class=${this.battery < 20 ? 'low' : ''} title="battery">battery ${Math.round(this.battery)} %</span>` : nothing}
      ${this.commandRttMs !== null ? html`<span title="command round trip">cmd ${this.commandRttMs} ms</span>` : nothing}
      ${this.glassMs !== null ? html`<span title="glass-to-glass video latency">video ${this.glassMs} ms</span>` : nothing}
      <span title=${`who is driving: ${who}`} class=${this.youDrive ? 'you' : ''}>${who}</span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-hud': HudLine }
}
