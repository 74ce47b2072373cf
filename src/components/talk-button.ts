// Hold-to-talk. Pointer down starts, up/cancel/leave ends; a short vibration confirms where the
// phone supports it. Emits `talk-start` / `talk-end`; the media controller does the rest.

import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { TalkState } from '../lib/audio/talk-capture.ts';

@customElement('hv-talk-button')
export class TalkButton extends LitElement {
  static override styles = css`
    /* The whole area is the button: a thumb landing near a corner still talks. */
    :host { display: block; }
    button {
      min-width: 44px; min-height: 44px; width: 100%; height: 100%; border-radius: 1.2rem;
      font: inherit; font-weight: 700; font-size: 1rem; color: #000; background: #9be7ff;
      border: 3px solid #fff; touch-action: none; user-select: none; -webkit-user-select: none;
    }
    button[data-state='talking'] { background: #ff4d4d; color: #fff; }
    button[data-state='starting'] { background: #ffd400; }
    button:disabled { opacity: 0.45; }
    button:focus-visible { outline: 3px solid #ffd400; outline-offset: 2px; }
  `;

  @property() state: TalkState = 'idle';
  @property({ type: Boolean }) disabled = false;
  private held = false;

  override render() {
    const label = this.state === 'talking' ? 'Talking… release to stop' : this.state === 'starting' ? 'Opening mic…' : 'Hold to talk';
    return html`<button data-state=${this.state} ?disabled=${this.disabled} aria-pressed=${this.state !== 'idle'}
      @pointerdown=${this.down} @pointerup=${this.up} @pointercancel=${this.up} @pointerleave=${this.up}
      @keydown=${(e: KeyboardEvent) => (e.key === ' ' || e.key === 'Enter') && !e.repeat && this.down(e)}
      @keyup=${(e: KeyboardEvent) => (e.key === ' ' || e.key === 'Enter') && this.up()}
      @contextmenu=${(e: Event) => e.preventDefault()}>${label}</button>`;
  }

  private down(e: Event): void {
    e.preventDefault();
    if (this.disabled || this.held) return;
    this.held = true;
    if (e instanceof PointerEvent) (e.target as Element).setPointerCapture?.(e.pointerId);
    navigator.vibrate?.(30);
    this.dispatchEvent(new CustomEvent('talk-start', { bubbles: true, composed: true }));
  }

  private up(): void {
    if (!this.held) return;
    this.held = false;
    navigator.vibrate?.(15);
    this.dispatchEvent(new CustomEvent('talk-end', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-talk-button': TalkButton }
}
