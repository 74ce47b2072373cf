// The app's header: title, connection mode, link state and the navigation. The navigation never
// gives way: on a narrow phone the title goes, the link state shrinks to its dot and the mode badge
// is cut with an ellipsis (its full text stays in its title and accessible name). The top padding
// keeps it clear of a notch or status bar (safe-area insets). Properties down; it sends nothing.

import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { LinkState } from '../lib/link/link.ts';

export interface NavLink { href: string; label: string; current: boolean }

@customElement('hv-app-header')
export class AppHeader extends LitElement {
  static override styles = css`
    :host { display: block; background: #000; border-bottom: 1px solid #33424d; padding-top: env(safe-area-inset-top, 0px); }
    header {
      display: flex; align-items: center; gap: 0.3rem; min-height: 48px; min-width: 0;
      padding: 0 max(0.3rem, env(safe-area-inset-right, 0px)) 0 max(0.3rem, env(safe-area-inset-left, 0px));
    }
    .brand { font-weight: 800; letter-spacing: 0.03em; flex: none; }
    .where { display: flex; align-items: center; gap: 0.35rem; min-width: 0; flex: 0 1 auto; margin-right: auto; }
    .mode {
      font-size: 0.8rem; font-weight: 700; padding: 0.1rem 0.45rem; border-radius: 0.4rem; background: #1d2b36; border: 1px solid #8aa0b0;
      white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 2.5rem; flex: 0 1 auto;
    }
    .mode[data-fallback='true'] { background: #ffd400; color: #000; }
    .state { font-size: 0.85rem; white-space: nowrap; flex: none; display: inline-flex; align-items: center; }
    .dot { width: 0.8rem; height: 0.8rem; border-radius: 50%; display: inline-block; margin-right: 0.3rem; }
    .live { background: #39e07a; } .degraded, .connecting { background: #ffd400; } .lost, .closed, .idle { background: #ff6b6b; }
    nav { display: flex; gap: 0.15rem; flex: none; }
    a {
      color: #fff; text-decoration: none; min-height: 44px; min-width: 44px; display: inline-grid; place-items: center;
      padding: 0 0.6rem; border-radius: 0.5rem; font-weight: 600; white-space: nowrap;
    }
    a[aria-current='page'] { background: #ffd400; color: #000; }
    a:focus-visible { outline: 3px solid #ffd400; outline-offset: -3px; }
    @media (orientation: landscape) and (max-height: 560px) { header { min-height: 44px; } }
    @media (max-width: 480px) { .brand { display: none; } }
    /* Narrow: the link state's word is read out, not shown (its dot and title stay). */
    @media (max-width: 600px) { .state .text { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); } .dot { margin-right: 0; } }
    @media (max-width: 360px) { a { padding: 0 0.4rem; font-size: 0.95rem; } header { gap: 0.2rem; } }
  `;

  /** The mode badge's words, e.g. "Auto · server". */
  @property() modeLabel = '';
  /** Why the app is not on its preferred path, shown with the badge's full text. */
  @property() modeReason: string | null = null;
  @property() path: 'local' | 'server' = 'local';
  @property() setting = 'local';
  @property({ type: Boolean }) fallback = false;
  @property() linkState: LinkState = 'idle';
  /** The link state's short word (live, lost…). */
  @property() linkLabel = '';
  @property() linkReason: string | null = null;
  @property({ attribute: false }) links: NavLink[] = [];

  override render() {
    const modeFull = this.modeReason ? `${this.modeLabel} — ${this.modeReason}` : this.modeLabel;
    const linkFull = this.linkReason ? `${this.linkLabel} — ${this.linkReason}` : this.linkLabel;
    return html`<header>
      <span class="brand">Havatar</span>
      <span class="where">
        <span class="mode" data-mode=${this.path} data-setting=${this.setting} data-fallback=${String(this.fallback)}
          title=${modeFull} aria-label=${`Mode: ${modeFull}`}>${this.modeLabel}</span>
        <span class="state" role="status" data-link=${this.linkState} title=${linkFull}><span class="dot ${this.linkState}"></span><span class="text">${this.linkLabel}</span></span>
      </span>
      <nav aria-label="Views">${this.links.map((l) => html`<a href=${l.href} aria-current=${l.current ? 'page' : 'false'}>${l.label}</a>`)}</nav>
    </header>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'hv-app-header': AppHeader }
}
