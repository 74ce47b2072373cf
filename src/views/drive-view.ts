// The drive view: video, heads-up line, joystick, stop, hold-to-talk, robot audio, text-to-speech
// and take/release control. Input and safety live in DriveController, sound in MediaController,
// the link in ConnectionController; this element only lays them out and wires events.

import { LitElement, css, html, nothing } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { MAX_TTS_CHARS } from '../../protocol/limits.ts';
import { msg, type LeaseMsg } from '../../protocol/messages.ts';
import { appServices, type AppServices } from '../app/services.ts';
import '../components/drive-joystick.ts';
import type { StickDetail } from '../components/drive-joystick.ts';
import '../components/hud-line.ts';
import '../components/robot-video.ts';
import type { RobotVideo } from '../components/robot-video.ts';
import '../components/stats-panel.ts';
import '../components/talk-button.ts';
import { MediaController } from '../lib/audio/media-controller.ts';
import { DriveController } from '../lib/control/drive-controller.ts';
import { ConnectionController } from '../lib/link/connection-controller.ts';
import { SettingsController } from '../lib/storage/settings-controller.ts';

const STOP_REASON_TEXT: Record<string, string> = {
  command: 'stop pressed', deadman: 'commands stopped arriving (deadman)', disconnect: 'the driver disconnected',
  lease_released: 'control released', serial_lost: 'the motor board stopped answering', shutdown: 'the robot is shutting down',
  hidden: 'the driver’s app went to the background', link_degraded: 'the link degraded',
};

@customElement('hv-drive-view')
export class DriveView extends LitElement {
  static override styles = css`
    :host {
      display: grid; height: 100%; min-height: 0; color: var(--hv-fg, #fff);
      grid-template-columns: 1fr; grid-template-rows: auto auto 1fr;
      grid-template-areas: 'video' 'hud' 'controls';
    }
    hv-robot-video { grid-area: video; aspect-ratio: 4 / 3; max-height: 55vh; width: 100%; }
    hv-stats-panel { grid-area: video; align-self: start; justify-self: end; z-index: 2; margin: 0.3rem; }
    .speaker { background: #39e07a; color: #000; font-weight: 700; padding: 0.1rem 0.5rem; border-radius: 0.4rem; }
    .hud { grid-area: hud; padding: 0.4rem 0.6rem; background: #000; display: flex; flex-direction: column; gap: 0.3rem; }
    .controls {
      grid-area: controls; min-height: 0; display: grid; gap: 0.6rem; padding: 0.6rem;
      grid-template-columns: minmax(150px, 1fr) minmax(120px, 0.8fr);
      grid-template-areas: 'stick stop' 'stick talk' 'row row' 'tts tts';
      grid-template-rows: auto 1fr auto auto;
    }
    hv-joystick { grid-area: stick; aspect-ratio: 1; width: 100%; max-width: 260px; justify-self: center; align-self: center; margin-bottom: 1.6em; }
    .stop { grid-area: stop; }
    hv-talk-button { grid-area: talk; min-height: 64px; }
    .bottom { display: contents; }
    .messages { grid-column: 1 / -1; display: grid; gap: 0.3rem; }
    .row { grid-area: row; display: flex; flex-wrap: wrap; gap: 0.5rem; }
    form { grid-area: tts; display: flex; gap: 0.5rem; }
    button, input { font: inherit; min-height: 44px; min-width: 44px; border-radius: 0.6rem; }
    button { background: #1d2b36; color: #fff; border: 2px solid #8aa0b0; padding: 0 0.9rem; font-weight: 600; }
    button:focus-visible, input:focus-visible { outline: 3px solid #ffd400; outline-offset: 2px; }
    button:disabled { opacity: 0.45; }
    .stop button { width: 100%; min-height: 72px; background: #e00000; border: 3px solid #fff; font-size: 1.4rem; font-weight: 800; letter-spacing: 0.05em; }
    .primary { background: #ffd400; color: #000; border-color: #fff; }
    input { flex: 1; min-width: 0; background: #fff; color: #000; border: 2px solid #8aa0b0; padding: 0 0.6rem; }
    .notice { background: #ffd400; color: #000; font-weight: 700; padding: 0.3rem 0.6rem; border-radius: 0.4rem; }
    .notice.bad { background: #ff6b6b; }
    .actions { font-size: 0.85rem; color: #cfd8de; margin: 0; padding: 0; list-style: none; }
    .pending { color: #ffd400; } .failed, .expired { color: #ff6b6b; }

    /* Phone landscape: the video fills the screen; stick and talk sit under the thumbs. */
    @media (orientation: landscape) and (max-height: 560px) {
      :host { grid-template-columns: minmax(140px, 24vw) 1fr minmax(140px, 24vw); grid-template-rows: auto 1fr auto; grid-template-areas: 'hud hud hud' 'left video right' 'tts tts tts'; }
      hv-robot-video { aspect-ratio: auto; max-height: none; height: 100%; }
      .controls { display: contents; }
      hv-joystick { grid-area: left; max-width: 22vw; margin: 0 0 1.6em 0.4rem; }
      .stop { grid-area: right; align-self: start; padding: 0.4rem; }
      hv-talk-button { grid-area: right; align-self: end; height: 40%; margin: 0.4rem; }
      /* One line under the video: control, sound, full screen, then the text box. */
      .bottom { grid-area: tts; display: flex; gap: 0.5rem; padding: 0.3rem 0.6rem; }
      .bottom .row { flex-wrap: nowrap; }
      .messages { grid-area: video; align-self: end; z-index: 1; padding: 0.3rem; background: rgba(0 0 0 / 0.6); }
      .messages:empty { display: none; }
      .bottom form { flex: 1; }
    }
    /* Tablet: video beside the controls. */
    @media (min-width: 900px) and (min-height: 600px) {
      :host { grid-template-columns: 1fr 340px; grid-template-rows: auto 1fr; grid-template-areas: 'hud hud' 'video controls'; }
      hv-robot-video { aspect-ratio: auto; max-height: none; height: 100%; }
      .controls { grid-template-columns: 1fr; grid-template-areas: 'stop' 'stick' 'talk' 'row' 'tts'; grid-template-rows: auto 1fr auto auto auto; }
      hv-talk-button { min-height: 80px; }
    }
  `;

  services: AppServices = appServices();
  private readonly conn = new ConnectionController(this, this.services);
  private readonly settings = new SettingsController(this, this.services.settings);
  private readonly drive = new DriveController(this, this.services);
  private readonly media = new MediaController(this, this.services);
  @state() private glassMs: number | null = null;
  @state() private ttsError: string | null = null;
  @state() private statsOpen = false;
  @query('hv-robot-video') private video?: RobotVideo;
  private hudTimer: ReturnType<typeof setInterval> | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    // Video runs while this view is shown (local MJPEG or server WHEP/HLS, as the mode decides).
    this.services.mode.attachVideo();
    // Readouts that change without an event (round trips, a strip that stopped decoding).
    this.hudTimer = setInterval(() => {
      this.glassMs = this.video?.latencyMs ?? null;
      this.requestUpdate();
    }, 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.services.mode.detachVideo();
    clearInterval(this.hudTimer);
    this.hudTimer = undefined;
  }

  /** State for end-to-end tests and styling: which path, which video, is it a fallback. */
  override willUpdate(): void {
    const m = this.conn.mode;
    this.dataset.mode = m.path;
    this.dataset.settingMode = m.mode;
    this.dataset.fallback = String(m.fallback);
    this.dataset.video = m.videoKind;
    this.dataset.videoState = m.video?.state ?? 'idle';
    this.dataset.link = this.conn.status.state;
  }

  private renderModeNotices() {
    const m = this.conn.mode;
    const hls = m.videoKind === 'hls';
    return html`
      ${hls ? html`<div class="notice" role="status" data-banner="hls">HLS fallback — ~0.6 s delay, not for driving</div>` : nothing}
      ${m.fallback ? html`<div class="notice" role="status" data-banner="fallback">${m.reason ?? 'Server unavailable — local mode (fallback).'}</div>` : nothing}
      ${!m.fallback && m.reason && m.mode !== 'local' ? html`<div class="notice bad" role="status" data-banner="mode">${m.reason}</div>` : nothing}
      ${this.services.inviteError ? html`<div class="notice bad" role="alert" data-banner="invite">${this.services.inviteError}</div>` : nothing}`;
  }

  override render() {
    const status = this.conn.status;
    const robot = this.conn.robot;
    const you = robot.isDriver;
    const live = status.state === 'live';
    const halt = this.drive.sender.lastHalt;
    const stopped = robot.lastStopped;
    return html`
      <hv-robot-video .source=${this.conn.mode.video} .toLocal=${(t: number) => this.conn.link.clock.toLocal(t)}
        @latency=${(e: CustomEvent<number | null>) => (this.glassMs = e.detail)}></hv-robot-video>
      ${this.statsOpen ? html`<hv-stats-panel .source=${this.conn.mode.video} .glassMs=${this.glassMs}
        .commandRttMs=${live ? this.conn.queue.commandRttMs : null} .linkRttMs=${this.conn.link.heartbeatRttMs}></hv-stats-panel>` : nothing}
      <div class="hud">
        <hv-hud .linkState=${status.state} .battery=${robot.telemetry?.battery.percentage ?? null}
          .linkRttMs=${this.conn.link.heartbeatRttMs} .commandRttMs=${live ? this.conn.queue.commandRttMs : null}
          .glassMs=${this.glassMs} .driver=${robot.lease.driverName ?? robot.lease.driver} .youDrive=${you}></hv-hud>
        ${robot.talk?.speaker === 'playing' ? html`<div><span class="speaker" role="status" data-speaker="playing">Robot speaker: playing ${robot.talk.by === robot.session ? 'your voice' : 'talk'}</span></div>` : nothing}
        ${this.renderModeNotices()}
        ${status.reason && status.state !== 'live' ? html`<div class="notice ${status.state === 'degraded' ? '' : 'bad'}" role="alert">${status.reason}</div>` : nothing}
        ${halt ? html`<div class="notice" role="alert">Robot stopped: ${halt.reason}.${this.drive.halted ? ' Release the stick to drive again.' : ''}</div>` : nothing}
        ${!halt && stopped && stopped.reason !== 'command' && Date.now() - this.conn.link.clock.toLocal(stopped.at) < 10_000
          ? html`<div class="notice">Robot stopped: ${STOP_REASON_TEXT[stopped.reason] ?? stopped.reason}.</div>` : nothing}
        ${robot.lease.you && robot.lease.requestedBy ? html`<div class="notice">Someone asks for control. <button @click=${() => this.lease('release')}>Hand over</button></div>` : nothing}
        ${robot.lastError?.code === 'lease_held' ? html`<div class="notice bad">${robot.lastError.message}</div>` : nothing}
      </div>
      <div class="controls">
        <hv-joystick ?disabled=${!you || !live} @stick=${(e: CustomEvent<StickDetail>) => this.drive.setStick(e.detail.vector, e.detail.held)}></hv-joystick>
        <div class="stop"><button @click=${() => this.drive.stopNow('stop button')} aria-label="Stop the robot now">■ STOP</button></div>
        <hv-talk-button .state=${this.media.talk.state} ?disabled=${!you || !live}
          @talk-start=${() => void this.media.startTalk()} @talk-end=${() => this.media.stopTalk()}></hv-talk-button>
        <div class="bottom">
        <div class="row">
          ${you
            ? html`<button @click=${() => this.lease('release')}>Release control</button>`
            : robot.lease.driver
              ? html`<button class="primary" ?disabled=${!live} @click=${() => this.lease('request')}>Ask for control</button>`
              : html`<button class="primary" ?disabled=${!live} @click=${() => this.lease('take')}>Take control</button>`}
          <button @click=${() => void this.media.toggleMute()} aria-pressed=${!this.media.muted}>${this.media.muted ? 'Robot sound: off' : 'Robot sound: on'}</button>
          <button @click=${this.fullscreen} >Full screen</button>
          <button class="stats-toggle" aria-pressed=${this.statsOpen} @click=${() => (this.statsOpen = !this.statsOpen)}>Stats</button>
        </div>
        <form @submit=${this.say}>
          <input name="tts" maxlength=${MAX_TTS_CHARS} placeholder="Say something through the robot" aria-label="Text for the robot to speak" autocomplete="off" enterkeyhint="send" />
          <button type="submit">Say</button>
        </form>
        </div>
        <div class="messages">
          ${this.media.talk.error ? html`<div class="notice bad" role="alert">${this.media.talk.error}</div>` : nothing}
          ${this.ttsError ? html`<div class="notice bad" role="alert">${this.ttsError}</div>` : nothing}
          ${this.renderActions()}
        </div>
      </div>`;
  }

  private renderActions() {
    const actions = this.conn.queue.actions.slice(-3);
    if (!actions.length) return nothing;
    const label = { pending: 'waiting for the link', sent: 'sent', done: 'spoken', failed: 'failed', expired: 'expired, not sent' } as const;
    return html`<ul class="actions" aria-label="Text to speech">${actions.map((a) => html`<li class=${a.state}>“${a.text}” — ${label[a.state]}${a.error ? `: ${a.error}` : ''}</li>`)}</ul>`;
  }

  private lease(action: LeaseMsg['action']): void {
    if (action === 'release') this.drive.stopNow('control released');
    this.conn.link.send(msg<LeaseMsg>({ type: 'lease', action }));
  }

  private async say(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).elements.namedItem('tts') as HTMLInputElement;
    const text = input.value.trim();
    if (!text) return;
    if (text.length > MAX_TTS_CHARS) {
      this.ttsError = `At most ${MAX_TTS_CHARS} characters.`;
      return;
    }
    this.ttsError = null;
    input.value = '';
    await this.conn.queue.say(text);
  }

  private fullscreen = async (): Promise<void> => {
    try {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await document.documentElement.requestFullscreen({ navigationUI: 'hide' });
    } catch {
      // iOS Safari has no element fullscreen; installed to the home screen it is full screen anyway.
    }
  };
}

declare global {
  interface HTMLElementTagNameMap { 'hv-drive-view': DriveView }
}
