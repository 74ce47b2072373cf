// Shown when the service worker cannot register because this device does not trust the robot's
// certificate: the page works (the operator accepted the warning) but cannot be installed or start
// offline, and browsers say so only in the console. The fix is the robot's CA, trusted once.

import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';

/** Where the robot serves its certificate authority (bridge GET /ca.crt); for links and QR codes. */
export const CA_CERT_PATH = '/ca.crt';
export const caCertUrl = (origin = location.origin): string => new URL(CA_CERT_PATH, origin).href;

/** A service worker registration refused for the origin's certificate (Chromium: "An SSL certificate error occurred…"). */
export function isCertificateError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /certificate/i.test(message);
}

@customElement('hv-trust-banner')
export class TrustBanner extends LitElement {
  static override styles = css`
    :host { position: fixed; inset: auto 0.6rem calc(0.6rem + env(safe-area-inset-bottom, 0px)) 0.6rem; z-index: 11; }
    div { background: #1d3346; color: #fff; border: 2px solid #ffd400; padding: 0.6rem 0.8rem; border-radius: 0.6rem; box-shadow: 0 2px 12px #000; }
    p { margin: 0 0 0.5rem; }
    a { color: #ffd400; font-weight: 700; }
    a:focus-visible, button:focus-visible { outline: 3px solid #fff; outline-offset: 2px; }
    button { font: inherit; min-height: 44px; min-width: 44px; border-radius: 0.5rem; border: 2px solid #000; background: #fff; color: #000; font-weight: 700; }
  `;

  @state() private dismissed = false;

  override render() {
    if (this.dismissed) return nothing;
    return html`<div role="alert">
      <p>This device does not trust the robot's certificate, so the app cannot be installed or start offline
        (it works while the robot answers).</p>
      <p>Trust the robot once: <a href=${caCertUrl()} download="havatar-robot-ca.crt">download its certificate authority</a>
        and install it as a CA certificate — step by step for Android, iOS and desktop in docs/SETUP_ROBOT.md. Then reopen this page.</p>
      <button @click=${() => (this.dismissed = true)}>Later</button>
    </div>`;
  }
}

/** Adds the banner once to the page. */
export function showTrustBanner(): void {
  if (!document.querySelector('hv-trust-banner')) document.body.append(document.createElement('hv-trust-banner'));
}

declare global {
  interface HTMLElementTagNameMap { 'hv-trust-banner': TrustBanner }
}
