// Status: the robot's /system_status made readable, and the app's own connection log.
// Polled every 2 s while the view is open (and the tab visible); each poll re-checks it is wanted.

import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { appServices, type AppServices } from '../app/services.ts';
import { LINK_LABEL } from '../components/hud-line.ts';
import { ConnectionController } from '../lib/link/connection-controller.ts';
import { apiUrl, authHeaders } from '../lib/link/robot-urls.ts';

const POLL_MS = 2000;

type Json = Record<string, unknown>;

@customElement('hv-status-view')
export class StatusView extends LitElement {
  static override styles = css`
    :host { display: block; padding: 1rem; color: #fff; max-width: 60rem; margin: 0 auto; }
    .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0.8rem; }
    section { background: #14202a; border: 1px solid #5a6b78; border-radius: 0.6rem; padding: 0.6rem 0.8rem; }
    h2 { font-size: 1rem; margin: 0 0 0.4rem; color: #ffd400; }
    dl { display: grid; grid-template-columns: auto 1fr; gap: 0.2rem 0.8rem; margin: 0; }
    dt { color: #cfd8de; } dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
    .error { color: #ff8f8f; font-weight: 700; }
    ol { font: 0.85rem/1.4 ui-monospace, monospace; padding-left: 0; list-style: none; max-height: 50vh; overflow: auto; background: #000; padding: 0.5rem; border-radius: 0.5rem; }
    /* The log scrolls once long: it takes the focus (tabindex) so a keyboard can scroll it too. */
    ol:focus-visible { outline: 3px solid #ffd400; outline-offset: 2px; }
    time { color: #8aa0b0; margin-right: 0.5rem; }
  `;

  services: AppServices = appServices();
  private readonly conn = new ConnectionController(this, this.services);
  @state() private status: Json | null = null;
  @state() private error: string | null = null;
  @state() private fetchedAt: number | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private unsubLog: (() => void) | null = null;
  private alive = false;

  override connectedCallback(): void {
    super.connectedCallback();
    this.alive = true;
    this.unsubLog = this.services.log.subscribe(() => this.requestUpdate());
    void this.poll();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.alive = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubLog?.();
  }

  private async poll(): Promise<void> {
    clearTimeout(this.timer);
    if (document.visibilityState === 'visible') {
      const s = this.services.settings.value;
      try {
        const res = await fetch(apiUrl(s, 'system_status'), { headers: authHeaders(s), cache: 'no-store' });
        if (!this.alive) return;
        if (res.status === 401) throw new Error('The robot refused the token (401): check it in Settings.');
        if (!res.ok) throw new Error(`The robot answered ${res.status}.`);
        this.status = (await res.json()) as Json;
        this.fetchedAt = Date.now();
        this.error = null;
      } catch (e) {
        if (!this.alive) return;
        this.error = e instanceof TypeError ? 'Cannot reach the robot.' : (e as Error).message;
      }
    }
    if (this.alive) this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  override render() {
    const st = this.status;
    const link = this.conn.status;
    return html`<h1>Status</h1>
      ${this.error ? html`<p class="error" role="alert">${this.error}${this.fetchedAt ? ` Showing data from ${new Date(this.fetchedAt).toLocaleTimeString()}.` : ''}</p>` : nothing}
      <div class="grid">
        <section><h2>Link</h2><dl>
          <dt>state</dt><dd>${LINK_LABEL[link.state]}</dd>
          ${link.reason ? html`<dt>why</dt><dd>${link.reason}</dd>` : nothing}
          <dt>round trip</dt><dd>${this.conn.link.heartbeatRttMs ?? '—'} ms</dd>
          <dt>driver</dt><dd>${this.conn.robot.isDriver ? 'you' : this.conn.robot.lease.driverName ?? this.conn.robot.lease.driver ?? 'nobody'}</dd>
        </dl></section>
        ${st ? this.sections(st) : nothing}
      </div>
      <h2>Connection log</h2>
      <ol aria-label="Connection log" tabindex="0">${[...this.services.log.all].reverse().map((e) => html`<li><time>${new Date(e.at).toLocaleTimeString()}</time>${e.text}</li>`)}</ol>`;
  }

  private sections(st: Json) {
    const app = obj(st.app_state);
    const battery = obj(st.battery);
    return html`
      <section><h2>Robot</h2><dl>
        ${row('camera', st.camera)}${row('motors', st.motors)}${row('text-to-speech', st.tts)}${row('audio', st.audio)}
      </dl></section>
      <section><h2>Battery</h2><dl>
        ${row('charge', battery.percentage !== undefined ? `${battery.percentage} %` : undefined)}${row('voltage', battery.voltage !== undefined ? `${battery.voltage} V` : undefined)}
      </dl></section>
      <section><h2>Bridge</h2><dl>
        ${row('uptime', typeof app.uptime === 'number' ? duration(app.uptime) : app.uptime)}${row('clients', app.clients_connected)}
        ${row('requests', app.total_requests)}${row('audio streaming', app.audio_streaming_active)}
      </dl></section>
      ${st.server !== undefined ? html`<section><h2>Server mode</h2><dl>${Object.entries(obj(st.server)).map(([k, v]) => row(k.replace(/_/g, ' '), v))}</dl></section>` : nothing}`;
  }
}

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

function row(label: string, v: unknown) {
  if (v === undefined) return nothing;
  return html`<dt>${label}</dt><dd>${readable(v)}</dd>`;
}

/** Any status value as words: booleans as ok/not available, objects as key: value pairs. */
export function readable(v: unknown): string {
  if (v === null) return '—';
  if (typeof v === 'boolean') return v ? 'ok' : 'not available';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(readable).join(', ');
  if (typeof v === 'object') return Object.entries(v as Json).map(([k, x]) => `${k.replace(/_/g, ' ')}: ${readable(x)}`).join(' · ');
  return String(v);
}

export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

declare global {
  interface HTMLElementTagNameMap { 'hv-status-view': StatusView }
}
