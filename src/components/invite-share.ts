// Settings' "Add a phone or a viewer": QR codes another phone scans instead of typing. With a
// driver's server session, single-use driver and viewer invites from the relay, their expiry next
// to the code; in local mode, the robot's own link with the operator token (shown only on request:
// it does not expire and drives the robot).

import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { hasServerSession, type Settings } from '../lib/storage/settings.ts';
import { localLink, loopbackOnly, makeInvite, type SharedInvite } from './share-links.ts';
import './qr-code.ts';

const when = (t: number): string => new Date(t).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });

@customElement('hv-invite-share')
export class InviteShare extends LitElement {
  static override styles = css`
    :host { display: grid; gap: 0.8rem; }
    .row { display: flex; flex-wrap: wrap; gap: 0.6rem; }
    button { font: inherit; font-weight: 700; min-height: 48px; border-radius: 0.6rem; background: #1d2b36; color: #fff; border: 2px solid #fff; padding: 0 1rem; }
    button:focus-visible, input:focus-visible { outline: 3px solid #ffd400; outline-offset: 2px; }
    figure { margin: 0; display: grid; gap: 0.5rem; justify-items: start; }
    figcaption { display: grid; gap: 0.3rem; }
    .expiry { font-weight: 700; color: #ffd400; }
    .hint { font-size: 0.85rem; color: #cfd8de; }
    .error { color: #ff8f8f; font-weight: 700; }
    input { font: inherit; font-size: 0.85rem; width: 100%; box-sizing: border-box; min-height: 44px; border-radius: 0.5rem; border: 2px solid #8aa0b0; padding: 0 0.6rem; background: #fff; color: #000; }
  `;

  @property({ attribute: false }) settings!: Settings;
  /** For tests: the relay call. */
  @property({ attribute: false }) fetchImpl: typeof fetch = (...a) => fetch(...a);
  @state() private invite: SharedInvite | null = null;
  @state() private showLocal = false;
  @state() private busy = false;
  @state() private error: string | null = null;

  override render() {
    const s = this.settings;
    const server = hasServerSession(s);
    return html`${server && s.sessionRole === 'driver'
      ? html`<div class="row">
          <button ?disabled=${this.busy} @click=${() => void this.make('viewer')}>Invite a viewer</button>
          <button ?disabled=${this.busy} @click=${() => void this.make('driver')}>Invite another driver</button>
        </div>`
      : server ? html`<p class="hint">Only a driver can make invites: ask the driver, or the server's admin.</p>` : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.invite ? this.code(`${this.invite.role === 'driver' ? 'Driver' : 'Viewer'} invite`, this.invite.link,
        html`<span class="expiry" data-expiry=${this.invite.expiresAt}>Works once, until ${when(this.invite.expiresAt)}.</span>`) : nothing}
      ${s.token ? this.local(s) : nothing}`;
  }

  private local(s: Settings) {
    if (!this.showLocal) return html`<div class="row"><button @click=${() => (this.showLocal = true)}>Show this robot’s local-mode link</button></div>`;
    return this.code('Local-mode link', localLink(s), html`<span class="expiry" data-expiry="never">Does not expire.</span>
      <span class="hint">It holds this robot’s operator token: whoever scans it can drive in local mode until the token is changed on the robot.</span>`);
  }

  private code(label: string, link: string, about: unknown) {
    return html`<figure>
      <hv-qr-code .text=${link} .label=${label}></hv-qr-code>
      <figcaption><strong>${label}</strong>${about}
        ${loopbackOnly(link) ? html`<span class="hint">This link points at 127.0.0.1, which another phone cannot open: open the app by this machine’s network address (or start it with <code>npm start -- --lan</code>).</span>` : nothing}
        <input readonly aria-label=${`${label}, to copy`} .value=${link} @focus=${(e: FocusEvent) => (e.target as HTMLInputElement).select()} />
      </figcaption></figure>`;
  }

  private async make(role: 'driver' | 'viewer'): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      this.invite = await makeInvite(this.settings, role, this.fetchImpl);
    } catch (e) {
      this.invite = null;
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-invite-share': InviteShare }
}
