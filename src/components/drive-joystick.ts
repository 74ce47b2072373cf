// Touch joystick (nipplejs, static, centred in its zone). Emits `stick` events with the raw
// vector; it never sends anything: the drive timer samples the last value. It fills the box its
// parent gives it: the round zone is the largest circle that fits above the label, and the stick
// is rebuilt to the zone's size when the box changes (a turned phone), never under a finger.

import { LitElement, css, html } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import nipplejs from 'nipplejs';

type Collection = ReturnType<typeof nipplejs.create>;
import type { Vec } from '../lib/control/mix.ts';

export interface StickDetail { vector: Vec; held: boolean }

@customElement('hv-joystick')
export class DriveJoystick extends LitElement {
  static override styles = css`
    :host {
      display: block; position: relative; container-type: size; min-width: 0; min-height: 0;
      touch-action: none; user-select: none; -webkit-user-select: none;
    }
    .box { position: absolute; inset: 0; display: grid; grid-template-rows: minmax(0, 1fr) auto; place-items: center; }
    .zone {
      position: relative; aspect-ratio: 1; width: min(100cqw, 100cqh - 1.5rem, 300px); box-sizing: border-box;
      border-radius: 50%; background: var(--hv-stick-bg, rgba(255 255 255 / 0.08)); border: 2px solid var(--hv-line, #5a6b78);
    }
    :host([disabled]) .zone { opacity: 0.4; }
    .label {
      max-width: 100%; height: 1.5rem; line-height: 1.5rem; font-size: 0.8rem; color: var(--hv-muted, #b8c4cc);
      white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
    }
  `;

  @property({ type: Boolean, reflect: true }) disabled = false;
  @query('.zone') private zone!: HTMLDivElement;
  private manager: Collection | null = null;
  private held = false;
  private builtFor = 0;
  // Rebuilt on the next frame, not inside the observer's callback (no resize loop).
  private readonly resize = new ResizeObserver(() => requestAnimationFrame(() => this.fit()));

  override render() {
    const label = this.disabled ? 'take control to drive' : 'drag to drive';
    return html`<div class="box"><div class="zone" role="application" aria-label="Drive joystick: drag to drive, release to stop"></div>
      <div class="label" title=${label}>${label}</div></div>`;
  }

  override firstUpdated(): void {
    this.create();
    this.resize.observe(this.zone);
  }

  /** The zone changed size: a stick of the new size, unless a finger is on it (then at release). */
  private fit(): void {
    if (this.held || !this.manager || this.zoneSize() === this.builtFor) return;
    this.manager.destroy();
    this.create();
  }

  private zoneSize(): number {
    return Math.round(Math.min(this.zone.clientWidth, this.zone.clientHeight));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated && !this.manager) {
      this.create();
      this.resize.observe(this.zone);
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize.disconnect();
    this.held = false;
    this.manager?.destroy();
    this.manager = null;
    this.emit({ x: 0, y: 0 }, false);
  }

  private create(): void {
    this.builtFor = this.zoneSize();
    // The ring inside the zone; a zone not laid out yet gets a usual size until it is.
    const size = this.builtFor ? Math.max(40, this.builtFor * 0.8) : 140;
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
    this.manager.on('start', () => {
      this.held = true;
      this.emit({ x: 0, y: 0 }, true);
    });
    this.manager.on('end', () => {
      this.held = false;
      this.emit({ x: 0, y: 0 }, false);
      // A resize while held waited for the finger to lift; after this event, not inside it.
      queueMicrotask(() => this.fit());
    });
  }

  private emit(vector: Vec, held: boolean): void {
    this.dispatchEvent(new CustomEvent<StickDetail>('stick', { detail: { vector, held }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-joystick': DriveJoystick }
}
