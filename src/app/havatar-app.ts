// The app shell: header (title, link state, navigation), the router outlet, and the update prompt.
// Starts the shared services once; the views pick them up through their controllers.

import { Router } from '@vaadin/router';
import { LitElement, css, html } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import '../components/app-header.ts';
import { LINK_LABEL_SHORT, modeLabel } from './link-label.ts';
import { ConnectionController } from '../lib/link/connection-controller.ts';
import { routeTable, urlFor, type RouteName } from '../router/routes.ts';
import { appServices, startServices } from './services.ts';
import './update-prompt.ts';
import type { SwUpdate } from './sw-update.ts';

const NAV_LABEL: Record<RouteName, string> = { drive: 'Drive', status: 'Status', settings: 'Settings' };

@customElement('havatar-app')
export class HavatarApp extends LitElement {
  static override styles = css`
    /* The whole screen, whatever the body does: notches and home indicators stay clear (the header
       pads the top), nothing scrolls but a view's own content, no pull-to-refresh, no double-tap zoom. */
    :host {
      position: fixed; inset: 0; display: grid; grid-template-rows: auto minmax(0, 1fr); grid-template-columns: minmax(0, 1fr);
      padding: 0 env(safe-area-inset-right, 0px) env(safe-area-inset-bottom, 0px) env(safe-area-inset-left, 0px);
      background: #0b1218; color: #fff; overscroll-behavior: none; touch-action: manipulation;
    }
    hv-app-header { margin: 0 calc(-1 * env(safe-area-inset-right, 0px)) 0 calc(-1 * env(safe-area-inset-left, 0px)); }
    main { min-height: 0; min-width: 0; overflow: auto; overscroll-behavior: contain; }
    main > * { height: 100%; }
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
    const links = (['drive', 'status', 'settings'] as const).map((name) => ({ href: urlFor(name), label: NAV_LABEL[name], current: this.route === name }));
    return html`<hv-app-header .modeLabel=${modeLabel(m.mode, m.path, m.fallback)} .modeReason=${m.reason} .path=${m.path} .setting=${m.mode}
        .fallback=${m.fallback} .linkState=${s} .linkLabel=${LINK_LABEL_SHORT[s]} .linkReason=${this.conn.status.reason} .links=${links}></hv-app-header>
      <main></main>
      <hv-update-prompt .ready=${this.swUpdate !== null} .driving=${this.conn.robot.isDriver}
        @update-accept=${() => this.swUpdate?.apply()}></hv-update-prompt>`;
  }
}

declare global {
  interface HTMLElementTagNameMap { 'havatar-app': HavatarApp }
}
