// Settings: connection mode (Local / Server / Auto) and the server session, robot address, token,
// name, video size, audio, joystick sensitivity, speed limit — validated on save with one clear
// message per wrong field; nothing is saved while any is wrong. Below, the ROBOT's own server-mode
// settings (hv-server-config, saved on the bridge) with "Test connection". Between them, QR codes to
// add another phone or a viewer (hv-invite-share).

import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { appServices, type AppServices } from '../app/services.ts';
import { SettingsController } from '../lib/storage/settings-controller.ts';
import { CONNECTION_MODES, VIDEO_SIZES, hasServerSession, type Settings, type SettingsErrors } from '../lib/storage/settings.ts';
import '../components/server-config-form.ts';
import '../components/invite-share.ts';

const MODE_TEXT = { local: 'Local — straight to the robot', server: 'Server — through the relay only', auto: 'Auto — server, local while it is down' } as const;

@customElement('hv-settings-view')
export class SettingsView extends LitElement {
  static override styles = css`
    :host { display: block; padding: 1rem; max-width: 40rem; margin: 0 auto; color: #fff; }
    form { display: grid; gap: 1rem; }
    label { display: grid; gap: 0.3rem; font-weight: 600; }
    .hint { font-weight: 400; font-size: 0.85rem; color: #cfd8de; }
    input, select { font: inherit; min-height: 44px; border-radius: 0.5rem; border: 2px solid #8aa0b0; padding: 0 0.6rem; background: #fff; color: #000; }
    input[type='checkbox'] { min-height: 0; width: 28px; height: 28px; }
    input[type='range'] { padding: 0; accent-color: #ffd400; }
    .check { display: flex; align-items: center; gap: 0.6rem; min-height: 44px; }
    [aria-invalid='true'] { border-color: #ff6b6b; border-width: 3px; }
    .error { color: #ff8f8f; font-weight: 700; }
    button { font: inherit; font-weight: 700; min-height: 48px; border-radius: 0.6rem; background: #ffd400; color: #000; border: 2px solid #fff; }
    .saved { color: #39e07a; font-weight: 700; }
    fieldset { border: 2px solid #33424d; border-radius: 0.6rem; display: grid; gap: 0.2rem; }
    legend { font-weight: 700; }
    .session { font-size: 0.9rem; color: #cfd8de; }
    button.secondary { background: #1d2b36; color: #fff; padding: 0 1rem; }
    h2 { margin-top: 2rem; }
    input:focus-visible, select:focus-visible, button:focus-visible { outline: 3px solid #ffd400; outline-offset: 2px; }
  `;

  services: AppServices = appServices();
  private readonly settings = new SettingsController(this, this.services.settings);
  @state() private errors: SettingsErrors = {};
  @state() private saved = false;

  override render() {
    const s = this.settings.value;
    const e = this.errors;
    return html`<h1>Settings</h1>
      <form novalidate @submit=${this.save} @input=${() => (this.saved = false)}>
        <fieldset>
          <legend>Connection mode</legend>
          ${CONNECTION_MODES.map((m) => html`<label class="check"><input type="radio" name="mode" value=${m} ?checked=${s.mode === m} /> ${MODE_TEXT[m]}</label>`)}
          ${e.mode ? html`<span class="error" role="alert">${e.mode}</span>` : nothing}
          <p class="session" data-session=${hasServerSession(s) ? 'yes' : 'no'}>${hasServerSession(s)
            ? html`Server session: ${s.sessionRole} of robot <strong>${s.robotId}</strong> via ${s.serverUrl}, valid until ${new Date(s.sessionExpiresAt).toLocaleString()}.
                <button type="button" class="secondary" @click=${this.forget}>Forget server session</button>`
            : 'No server session: open an invite link from the server to use Server or Auto.'}</p>
        </fieldset>
        ${this.text('robotUrl', 'Robot address', s.robotUrl, 'Empty = this page’s robot. Otherwise e.g. https://192.168.1.20:5443', 'url')}
        ${this.text('token', 'Operator token', s.token, 'Filled in by a link with #token=…', 'password')}
        ${this.text('operatorName', 'Your name', s.operatorName, 'Shown to other operators')}
        <label>Video size
          <select name="videoSize" aria-invalid=${!!e.videoSize}>
            ${VIDEO_SIZES.map((v) => html`<option value=${v} ?selected=${s.videoSize === v}>${v === 'auto' ? 'as the robot sends it' : v}</option>`)}
          </select>
          ${e.videoSize ? html`<span class="error" role="alert">${e.videoSize}</span>` : nothing}
        </label>
        <label class="check"><input type="checkbox" name="audioEnabled" ?checked=${s.audioEnabled} /> Receive the robot’s sound</label>
        ${this.range('joystickSensitivity', 'Joystick sensitivity', s.joystickSensitivity, '100 % = linear; lower = finer control near the centre')}
        ${this.range('speedLimit', 'Speed limit', s.speedLimit, 'Top speed of the tracks')}
        <button type="submit">Save</button>
        ${this.saved ? html`<span class="saved" role="status">Saved.</span>` : nothing}
      </form>
      <h2>Add a phone or a viewer</h2>
      <hv-invite-share .settings=${s}></hv-invite-share>
      <h2>Robot’s server mode</h2>
      <hv-server-config .settings=${s}></hv-server-config>`;
  }

  private forget = async (): Promise<void> => {
    await this.settings.store.save({ sessionToken: '', sessionExpiresAt: 0, robotId: '', sessionRole: '', whepUrl: '', whipUrl: '', hlsUrl: '', playbackUrl: '', mode: 'local' });
  };

  private text(name: keyof Settings, label: string, value: string, hint: string, type = 'text') {
    const err = this.errors[name];
    return html`<label>${label} <span class="hint">${hint}</span>
      <input name=${name} type=${type} .value=${value} aria-invalid=${!!err} autocomplete="off" spellcheck="false" />
      ${err ? html`<span class="error" role="alert">${err}</span>` : nothing}</label>`;
  }

  private range(name: keyof Settings, label: string, value: number, hint: string) {
    const err = this.errors[name];
    return html`<label>${label}: <output>${value} %</output> <span class="hint">${hint}</span>
      <input name=${name} type="number" min="10" max="100" step="5" .value=${String(value)} aria-invalid=${!!err} inputmode="numeric" />
      ${err ? html`<span class="error" role="alert">${err}</span>` : nothing}</label>`;
  }

  private save = async (ev: SubmitEvent): Promise<void> => {
    ev.preventDefault();
    const form = ev.target as HTMLFormElement;
    const data = new FormData(form);
    const draft: Record<string, unknown> = Object.fromEntries(data.entries());
    draft.audioEnabled = data.has('audioEnabled');
    const result = await this.settings.store.save(draft);
    this.errors = result.ok ? {} : result.errors;
    this.saved = result.ok;
    if (!result.ok) (this.renderRoot.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus();
  };
}

declare global {
  interface HTMLElementTagNameMap { 'hv-settings-view': SettingsView }
}
