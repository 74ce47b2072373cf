// Touch joystick (nipplejs, static, centred in its zone). Emits `stick` events with the raw
// vector; it never sends anything: the drive timer samples the last value.

import { LitElement, css, html } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import nipplejs from 'nipplejs';

type Collection = ReturnType<typeof nipplejs.create>;
import type { Vec } from '../lib/control/mix.ts';

export interface StickDetail { vector: Vec; held: boolean }

@customElement('hv-joystick')
export class DriveJoystick extends LitElement {
  static override styles = css`
    :host { display: block; position: relative; touch-action: none; user-select: none; -webkit-user-select: none; }
    .zone { position: absolute; inset: 0; border-radius: 50%; background: var(--hv-stick-bg, rgba(255 255 255 / 0.08)); border: 2px solid var(--hv-line, #5a6b78); }
    :host([disabled]) .zone { opacity: 0.4; }
    .label { position: absolute; inset: auto 0 -1.6em 0; text-align: center; font-size: 0.8rem; color: var(--hv-muted, #b8c4cc); }
  `;

  @property({ type: Boolean, reflect: true }) disabled = false;
  @query('.zone') private zone!: HTMLDivElement;
  private manager: Collection | null = null;

  override render() {
    return html`<div class="zone" role="application" aria-label="Drive joystick: drag to drive, release to stop"></div>
      <div class="label">${this.disabled ? 'take control to drive' : 'drag to drive'}</div>`;
  }

  override firstUpdated(): void {
    this.create();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated && !this.manager) this.create();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.manager?.destroy();
    this.manager = null;
    this.emit({ x: 0, y: 0 }, false);
  }

  private create(): void {
    const size = Math.max(100, Math.min(this.zone.clientWidth, this.zone.clientHeight) * 0.8 || 140);
    this.manager = nipplejs.create({
      zone: this.zone,
      mode: 'static',
      position: { left: '50%', top: '50%' },
      size,
      color: { front: '#ffd400', back: 'rgba(255,255,255,0.25)' },
      restOpacity: 0.9,
    });
    this.manager.on('move', (evt) => {
      const v = evt.data.vector;
      this.emit({ x: v.x, y: v.y }, true);
    });
    this.manager.on('start', () => this.emit({ x: 0, y: 0 }, true));
    this.manager.on('end', () => this.emit({ x: 0, y: 0 }, false));
  }

  private emit(vector: Vec, held: boolean): void {
    this.dispatchEvent(new CustomEvent<StickDetail>('stick', { detail: { vector, held }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-joystick': DriveJoystick }
}
