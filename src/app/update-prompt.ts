// "A new version is ready" prompt. The service worker waits (registerType 'prompt'); we only
// tell it to take over when the operator says so, and never while they are driving.

import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';

@customElement('hv-update-prompt')
export class UpdatePrompt extends LitElement {
  static override styles = css`
    :host { position: fixed; inset: auto 0.6rem 0.6rem auto; z-index: 10; }
    div { background: #ffd400; color: #000; padding: 0.6rem 0.8rem; border-radius: 0.6rem; display: flex; gap: 0.6rem; align-items: center; font-weight: 600; box-shadow: 0 2px 12px #000; }
    button { font: inherit; min-height: 44px; min-width: 44px; border-radius: 0.5rem; border: 2px solid #000; background: #fff; color: #000; font-weight: 700; }
  `;

  /** Set by the shell: the service worker has a new version waiting. */
  @property({ type: Boolean }) ready = false;
  /** Set by the shell while the operator holds control: updating then would cut the drive. */
  @property({ type: Boolean }) driving = false;
  @state() private dismissed = false;

  override render() {
    if (!this.ready || this.dismissed) return nothing;
    return html`<div role="status">
      ${this.driving ? 'Update ready — release control to install it.' : 'A new version is ready.'}
      <button ?disabled=${this.driving} @click=${() => this.dispatchEvent(new CustomEvent('update-accept', { bubbles: true, composed: true }))}>Update</button>
      <button aria-label="Later" @click=${() => (this.dismissed = true)}>Later</button>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-update-prompt': UpdatePrompt }
}
