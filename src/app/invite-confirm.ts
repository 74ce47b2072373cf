// "Connect to this server?" — shown when an invite link names a server other than the one in use
// (app/invite-flow.ts). The host is shown as the browser reads it (punycode, so a look-alike name
// cannot pass for the real one), with its scheme and a warning when it is not encrypted. The
// operator's answer goes up as an `invite-decision` event; the element sends nothing anywhere.

import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';

export interface InviteDecision { accept: boolean }

@customElement('hv-invite-confirm')
export class InviteConfirm extends LitElement {
  static override styles = css`
    :host { position: fixed; inset: 0; z-index: 20; display: grid; place-items: center; background: #000c; padding: 1rem; }
    section { max-width: 30rem; background: #0b1218; color: #fff; border: 2px solid #ffd400; border-radius: 0.8rem; padding: 1rem 1.2rem; }
    h2 { margin: 0 0 0.6rem; font-size: 1.2rem; }
    .host { font: 700 1.3rem/1.3 ui-monospace, monospace; background: #1d2b36; padding: 0.4rem 0.6rem; border-radius: 0.4rem; overflow-wrap: anywhere; }
    .bad { color: #ff6b6b; font-weight: 700; }
    .actions { display: flex; flex-wrap: wrap; gap: 0.6rem; margin-top: 1rem; }
    button { font: inherit; font-weight: 700; min-height: 44px; padding: 0 1rem; border-radius: 0.5rem; border: 2px solid #fff; background: #1d2b36; color: #fff; }
    button.go { background: #ffd400; color: #000; border-color: #ffd400; }
    button:focus-visible { outline: 3px solid #39e07a; outline-offset: 2px; }
  `;

  /** The invite's server, e.g. `https://relay.example.org` (an origin). */
  @property() server = '';
  /** The server the app uses now ('' when none). */
  @property() current = '';

  private get host(): string {
    try {
      return new URL(this.server).host;
    } catch {
      return this.server;
    }
  }

  private decide(accept: boolean): void {
    this.dispatchEvent(new CustomEvent<InviteDecision>('invite-decision', { detail: { accept }, bubbles: true, composed: true }));
  }

  override firstUpdated(): void {
    // Focus on the safe answer: Enter or a stray tap must not connect.
    this.renderRoot.querySelector<HTMLButtonElement>('button.stay')?.focus();
  }

  override render() {
    const plain = this.server.startsWith('http:');
    let current: string = this.current;
    try {
      current = this.current ? new URL(this.current).host : '';
    } catch { /* shown as it is */ }
    return html`<section role="alertdialog" aria-modal="true" aria-labelledby="t" aria-describedby="d">
      <h2 id="t">Connect to another server?</h2>
      <div id="d">
        <p>This invite link sends your session, your voice and your drive commands to:</p>
        <p class="host" data-host>${this.host}</p>
        ${plain ? html`<p class="bad">Not encrypted (http): anyone on the way can listen.</p>` : nothing}
        <p>${current ? html`You now use <strong>${current}</strong>.` : 'No server is set up in this app yet.'}
          Only continue if you trust this server and expected this link.</p>
      </div>
      <div class="actions">
        <button class="stay" @click=${() => this.decide(false)}>Don't connect</button>
        <button class="go" @click=${() => this.decide(true)}>Connect to ${this.host}</button>
      </div>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-invite-confirm': InviteConfirm }
}
