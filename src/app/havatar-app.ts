// The app shell: header (title, link state, navigation), the router outlet, and the update prompt.
// Starts the shared services once; the views pick them up through their controllers.

import { Router } from '@vaadin/router';
import { LitElement, css, html } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { LINK_LABEL_SHORT, modeLabel } from './link-label.ts';
import { ConnectionController } from '../lib/link/connection-controller.ts';
import { routeTable, urlFor, type RouteName } from '../router/routes.ts';
import { appServices, startServices } from './services.ts';
import './update-prompt.ts';
import type { SwUpdate } from './sw-update.ts';

@customElement('havatar-app')
export class HavatarApp extends LitElement {
  static override styles = css`
    :host { display: grid; grid-template-rows: auto 1fr; height: 100dvh; background: #0b1218; color: #fff; }
    header { display: flex; align-items: center; gap: 0.4rem; padding: 0 0.4rem; background: #000; border-bottom: 1px solid #33424d; min-height: 48px; }
    .brand { font-weight: 800; margin-right: auto; letter-spacing: 0.03em; }
    nav { display: flex; gap: 0.2rem; }
    a { color: #fff; text-decoration: none; min-height: 44px; min-width: 44px; display: inline-grid; place-items: center; padding: 0 0.7rem; border-radius: 0.5rem; font-weight: 600; }
    a[aria-current='page'] { background: #ffd400; color: #000; }
    a:focus-visible { outline: 3px solid #ffd400; }
    .dot { width: 0.8rem; height: 0.8rem; border-radius: 50%; display: inline-block; margin-right: 0.3rem; }
    .live { background: #39e07a; } .degraded, .connecting { background: #ffd400; } .lost, .closed, .idle { background: #ff6b6b; }
    .state { font-size: 0.85rem; white-space: nowrap; }
    .mode { font-size: 0.8rem; font-weight: 700; padding: 0.1rem 0.45rem; border-radius: 0.4rem; background: #1d2b36; border: 1px solid #8aa0b0; white-space: nowrap; }
    .mode[data-fallback='true'] { background: #ffd400; color: #000; }
    main { min-height: 0; overflow: auto; }
    main > * { height: 100%; }
    @media (orientation: landscape) and (max-height: 560px) { header { min-height: 44px; } .state span.text { display: none; } }
    @media (max-width: 420px) { .brand { display: none; } .state { margin-right: auto; } }
  `;

  private readonly services = appServices();
  private readonly conn = new ConnectionController(this, this.services);
  @query('main') private outlet!: HTMLElement;
  @state() private route: RouteName = 'drive';
  @state() private swUpdate: SwUpdate | null = null;
  private router: Router | null = null;

  override firstUpdated(): void {
    this.router = new Router(this.outlet, { baseUrl: '/' });
    void this.router.setRoutes(routeTable());
    window.addEventListener('vaadin-router-location-changed', this.onRoute);
    void startServices(this.services);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('vaadin-router-location-changed', this.onRoute);
    this.router?.unsubscribe();
  }

  /** Called by main.ts once a new service worker version is waiting. */
  updateReady(u: SwUpdate): void {
    this.swUpdate = u;
  }

  private onRoute = (e: Event): void => {
    const name = (e as CustomEvent<{ location: { route: { name?: string } | null } }>).detail.location.route?.name;
    if (name === 'drive' || name === 'settings' || name === 'status') this.route = name;
  };

  override render() {
    const s = this.conn.status.state;
    const m = this.conn.mode;
    const link = (name: RouteName, label: string) =>
      html`<a href=${urlFor(name)} aria-current=${this.route === name ? 'page' : 'false'}>${label}</a>`;
    return html`<header>
        <span class="brand">Havatar</span>
        <span class="mode" data-mode=${m.path} data-setting=${m.mode} data-fallback=${String(m.fallback)} title=${m.reason ?? ''}>${modeLabel(m.mode, m.path, m.fallback)}</span>
        <span class="state" role="status" data-link=${s} title=${this.conn.status.reason ?? ''}><span class="dot ${s}"></span><span class="text">${LINK_LABEL_SHORT[s]}</span></span>
        <nav>${link('drive', 'Drive')}${link('status', 'Status')}${link('settings', 'Settings')}</nav>
      </header>
      <main></main>
      <hv-update-prompt .ready=${this.swUpdate !== null} .driving=${this.conn.robot.isDriver}
        @update-accept=${() => this.swUpdate?.apply()}></hv-update-prompt>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'havatar-app': HavatarApp }
}
