// The robot's server-mode settings (the bridge's `server_mode` block): server URL, stream key,
// password (write-only, shown masked), fallback to local, on/off — loaded from the bridge's
// GET /config, validated here, saved with POST /server/config. "Test connection" checks each piece
// of server mode and lists what works and what does not (lib/link/connection-test.ts).

import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { apiUrl, authHeaders } from '../lib/link/robot-urls.ts';
import { testConnection, type CheckItem } from '../lib/link/connection-test.ts';
import { PASSWORD_MASK, validateServerMode, type ServerModeBlock, type ServerModeErrors } from '../lib/storage/server-config.ts';
import type { Settings } from '../lib/storage/settings.ts';

const RESULT_TEXT = { running: 'checking…', ok: 'works', fail: 'does not work', skip: 'not checked' } as const;

@customElement('hv-server-config')
export class ServerConfigForm extends LitElement {
  static override styles = css`
    :host { display: block; }
    form { display: grid; gap: 0.8rem; }
    label { display: grid; gap: 0.3rem; font-weight: 600; }
    .hint { font-weight: 400; font-size: 0.85rem; color: #cfd8de; }
    input { font: inherit; min-height: 44px; border-radius: 0.5rem; border: 2px solid #8aa0b0; padding: 0 0.6rem; background: #fff; color: #000; }
    input[type='checkbox'] { min-height: 0; width: 28px; height: 28px; }
    .check { display: flex; align-items: center; gap: 0.6rem; min-height: 44px; }
    [aria-invalid='true'] { border-color: #ff6b6b; border-width: 3px; }
    .error { color: #ff8f8f; font-weight: 700; }
    .row { display: flex; gap: 0.5rem; flex-wrap: wrap; }
    button { font: inherit; font-weight: 700; min-height: 48px; border-radius: 0.6rem; background: #ffd400; color: #000; border: 2px solid #fff; padding: 0 1rem; }
    button.secondary { background: #1d2b36; color: #fff; }
    input:focus-visible, button:focus-visible { outline: 3px solid #ffd400; outline-offset: 2px; }
    .saved { color: #39e07a; font-weight: 700; }
    ul { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.3rem; }
    li { padding: 0.3rem 0.5rem; border-radius: 0.4rem; background: #1d2b36; }
    li[data-result='ok'] { border-left: 6px solid #39e07a; } li[data-result='fail'] { border-left: 6px solid #ff6b6b; }
    li[data-result='skip'], li[data-result='running'] { border-left: 6px solid #8aa0b0; }
    .detail { display: block; font-size: 0.85rem; color: #cfd8de; }
  `;

  /** The app's settings (bridge address + token for /config; session for the tests). */
  @property({ attribute: false }) settings: Settings | null = null;
  @state() private block: ServerModeBlock | null = null;
  @state() private loadError: string | null = null;
  @state() private errors: ServerModeErrors = {};
  @state() private message: { ok: boolean; text: string } | null = null;
  @state() private checks: CheckItem[] = [];
  @state() private testing = false;

  private loadedFor: string | null = null;

  /** (Re)reads the robot's block when the bridge address or token it comes from changes. */
  override updated(): void {
    const s = this.settings;
    const key = s ? `${s.robotUrl} ${s.token}` : null;
    if (key !== null && key !== this.loadedFor) {
      this.loadedFor = key;
      void this.load();
    }
  }

  private async load(): Promise<void> {
    const s = this.settings;
    if (!s) return;
    try {
      const res = await fetch(apiUrl(s, 'config'), { headers: authHeaders(s), cache: 'no-store' });
      const body = (await res.json()) as { ok?: boolean; config?: { server_mode?: ServerModeBlock }; msg?: string };
      if (!res.ok || !body.config?.server_mode) throw new Error(body.msg ?? `answered ${res.status}`);
      this.block = body.config.server_mode;
      this.loadError = null;
    } catch (e) {
      this.loadError = `Cannot read the robot’s server settings: ${(e as Error).message}`;
    }
  }

  override render() {
    const b = this.block;
    return html`
      ${this.loadError ? html`<p class="error" role="alert">${this.loadError}</p>` : nothing}
      <form novalidate @submit=${this.save}>
        <label class="check"><input type="checkbox" name="enabled" ?checked=${b?.enabled ?? false} /> Robot publishes to the server</label>
        ${this.field('server_url', 'Server URL', b?.server_url ?? '', 'The relay the robot connects to, e.g. https://havatar.example.org', 'url')}
        ${this.field('stream_key', 'Stream key', b?.stream_key ?? '', 'The robot’s id on the server')}
        ${this.field('stream_password', 'Stream password', '', b?.stream_password === PASSWORD_MASK ? 'Set (hidden). Leave empty to keep it; a new server address needs it again.' : 'Not set.', 'password')}
        <label class="check"><input type="checkbox" name="fallback_to_local" ?checked=${b?.fallback_to_local ?? true} /> Fall back to local mode when the server is unreachable</label>
        <div class="row">
          <button type="submit">Save on the robot</button>
          <button type="button" class="secondary" ?disabled=${this.testing} @click=${this.test}>Test connection</button>
        </div>
        ${this.message ? html`<span class=${this.message.ok ? 'saved' : 'error'} role="status">${this.message.text}</span>` : nothing}
      </form>
      ${this.checks.length ? html`<ul aria-label="Connection test" data-testing=${String(this.testing)}>${this.checks.map((c) => html`<li data-check=${c.key} data-result=${c.result}>
          <strong>${c.label}: ${RESULT_TEXT[c.result]}</strong><span class="detail">${c.detail}</span></li>`)}</ul>` : nothing}`;
  }

  private field(name: keyof ServerModeBlock, label: string, value: string, hint: string, type = 'text') {
    const err = this.errors[name];
    return html`<label>${label} <span class="hint">${hint}</span>
      <input name=${name} type=${type} .value=${value} aria-invalid=${!!err} autocomplete=${type === 'password' ? 'new-password' : 'off'} spellcheck="false" />
      ${err ? html`<span class="error" role="alert">${err}</span>` : nothing}</label>`;
  }

  private draft(): Record<string, unknown> {
    const form = this.renderRoot.querySelector('form')!;
    const data = new FormData(form);
    return {
      enabled: data.has('enabled'),
      fallback_to_local: data.has('fallback_to_local'),
      server_url: String(data.get('server_url') ?? ''),
      stream_key: String(data.get('stream_key') ?? ''),
      stream_password: String(data.get('stream_password') ?? ''),
    };
  }

  private save = async (ev: SubmitEvent): Promise<void> => {
    ev.preventDefault();
    const s = this.settings;
    const checked = validateServerMode(this.draft());
    if (!checked.ok) {
      this.errors = checked.errors;
      this.message = null;
      return;
    }
    this.errors = {};
    if (!s) return;
    try {
      const res = await fetch(apiUrl(s, 'server/config'), {
        method: 'POST', headers: { ...authHeaders(s), 'Content-Type': 'application/json' }, body: JSON.stringify(checked.value),
      });
      const body = (await res.json().catch(() => ({}))) as { msg?: string; field?: string; config?: ServerModeBlock };
      if (!res.ok) {
        const field = body.field?.replace(/^server_mode\./, '') as keyof ServerModeBlock | undefined;
        if (field) this.errors = { [field]: body.msg ?? 'Refused by the robot.' };
        this.message = { ok: false, text: `The robot refused: ${body.msg ?? res.status}` };
        return;
      }
      if (body.config) this.block = body.config;
      this.message = { ok: true, text: body.msg ? `Saved on the robot (${body.msg}).` : 'Saved on the robot.' };
    } catch (e) {
      this.message = { ok: false, text: `Cannot reach the robot: ${(e as Error).message}` };
    }
  };

  private test = async (): Promise<void> => {
    const s = this.settings;
    if (!s || this.testing) return;
    this.testing = true;
    const formUrl = String(this.draft().server_url ?? '').trim().replace(/\/+$/, '');
    try {
      const { rtcProbe } = await import('../lib/video/rtc-probe.ts');
      await testConnection({
        settings: s,
        serverUrl: s.serverUrl || formUrl,
        robotStatus: async () => {
          const res = await fetch(apiUrl(s, 'server/status'), { headers: authHeaders(s), cache: 'no-store' });
          if (!res.ok) return null;
          return ((await res.json()) as { status: { state: string; publishing: boolean; relay_connected: boolean; last_error: string | null } }).status;
        },
        rtcProbe,
      }, (items) => (this.checks = items));
    } finally {
      this.testing = false;
    }
  };
}

declare global {
  interface HTMLElementTagNameMap { 'hv-server-config': ServerConfigForm }
}
