// The drive view: video, heads-up line, joystick, stop, hold-to-talk, robot audio, text-to-speech,
// take/release control and, in server mode, recording (the indicator for everyone, the driver's
// toggle, and the recordings list for drivers). Input and safety live in DriveController, sound in MediaController,
// the link in ConnectionController; this element only lays them out and wires events.

import { LitElement, html, nothing } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { MAX_TTS_CHARS } from '../../protocol/limits.ts';
import { msg, type ErrorMsg, type LeaseMsg, type RecordingStopReason } from '../../protocol/messages.ts';
import { appServices, type AppServices } from '../app/services.ts';
import '../components/drive-joystick.ts';
import '../components/recordings-list.ts';
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
import { driveViewStyles } from './drive-view.styles.ts';

const STOP_REASON_TEXT: Record<string, string> = {
  command: 'stop pressed', deadman: 'commands stopped arriving (deadman)', disconnect: 'the driver disconnected',
  lease_released: 'control released', serial_lost: 'the motor board stopped answering', shutdown: 'the robot is shutting down',
  hidden: 'the driver’s app went to the background', link_degraded: 'the link degraded',
};

const RECORDING_STOPPED_TEXT: Record<Exclude<RecordingStopReason, 'request'>, string> = {
  disk_low: 'Recording stopped: the server’s disk is nearly full.',
  lost: 'Recording stopped: the media server lost it (it restarted?). Start it again if you still want it.',
};

@customElement('hv-drive-view')
export class DriveView extends LitElement {
  static override styles = driveViewStyles;

  services: AppServices = appServices();
  private readonly conn = new ConnectionController(this, this.services);
  private readonly settings = new SettingsController(this, this.services.settings);
  private readonly drive = new DriveController(this, this.services);
  private readonly media = new MediaController(this, this.services);
  @state() private glassMs: number | null = null;
  @state() private ttsError: string | null = null;
  @state() private statsOpen = false;
  @state() private recordingsOpen = false;
  /** The error shown before the last record press: only a newer one answers that press. */
  private errorBeforeRecord: ErrorMsg | null = null;
  @state() private videoAspect = 4 / 3;
  @query('hv-robot-video') private video?: RobotVideo;
  private hudTimer: ReturnType<typeof setInterval> | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    // Video runs while this view is shown (local MJPEG or server WHEP/HLS, as the mode decides).
    this.services.mode.attachVideo();
    // Readouts that change without an event (round trips, a strip that stopped decoding).
    this.hudTimer = setInterval(() => {
      this.glassMs = this.video?.latencyMs ?? null;
      // The picture's shape (4:3 MJPEG, 16:9 WebRTC): portrait gives the video no more height than it fills.
      const aspect = this.video?.aspect;
      if (aspect && Math.abs(aspect - this.videoAspect) > 0.01) this.videoAspect = aspect;
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
    this.style.setProperty('--hv-video-aspect', this.videoAspect.toFixed(4));
  }

  private renderModeNotices() {
    const m = this.conn.mode;
    const hls = m.videoKind === 'hls';
    return [
      hls ? html`<div class="notice" role="status" data-banner="hls">HLS fallback — ~0.6 s delay, not for driving</div>` : nothing,
      m.fallback ? html`<div class="notice" role="status" data-banner="fallback">${m.reason ?? 'Server unavailable — local mode (fallback).'}</div>` : nothing,
      !m.fallback && m.reason && m.mode !== 'local' ? html`<div class="notice bad" role="status" data-banner="mode">${m.reason}</div>` : nothing,
      this.services.inviteError ? html`<div class="notice bad" role="alert" data-banner="invite">${this.services.inviteError}</div>` : nothing,
    ];
  }

  override render() {
    const status = this.conn.status;
    const robot = this.conn.robot;
    const you = robot.isDriver;
    const live = status.state === 'live';
    return html`<h1>Drive</h1>
      <hv-robot-video .source=${this.conn.mode.video} .toLocal=${(t: number) => this.conn.link.clock.toLocal(t)}
        .note=${robot.telemetry?.video ?? null}
        @latency=${(e: CustomEvent<number | null>) => (this.glassMs = e.detail)}></hv-robot-video>
      ${this.recordingsOpen && this.conn.mode.path === 'server' ? this.renderRecordings() : nothing}
      ${this.statsOpen ? html`<hv-stats-panel .source=${this.conn.mode.video} .glassMs=${this.glassMs}
        .commandRttMs=${live ? this.conn.queue.commandRttMs : null} .linkRttMs=${this.conn.link.heartbeatRttMs}></hv-stats-panel>` : nothing}
      <div class="hud">
        <hv-hud .linkState=${status.state} .battery=${robot.telemetry?.battery.percentage ?? null}
          .linkRttMs=${this.conn.link.heartbeatRttMs} .commandRttMs=${live ? this.conn.queue.commandRttMs : null}
          .glassMs=${this.glassMs} .driver=${robot.lease.driverName ?? robot.lease.driver} .youDrive=${you}></hv-hud>
      </div>
      ${this.renderNotices()}
      <hv-joystick ?disabled=${!you || !live} @stick=${(e: CustomEvent<StickDetail>) => this.drive.setStick(e.detail.vector, e.detail.held)}></hv-joystick>
      <div class="stop"><button @click=${() => this.drive.stopNow('stop button')} aria-label="Stop the robot now">■ STOP</button></div>
      <hv-talk-button .state=${this.media.talk.state} ?disabled=${!you || !live}
        @talk-start=${() => void this.media.startTalk()} @talk-end=${() => this.media.stopTalk()}></hv-talk-button>
      ${you
        ? html`<button class="lease" @click=${() => this.lease('release')}>Release control</button>`
        : robot.lease.driver
          ? html`<button class="lease primary" ?disabled=${!live} @click=${() => this.lease('request')}>Ask for control</button>`
          : html`<button class="lease primary" ?disabled=${!live} @click=${() => this.lease('take')}>Take control</button>`}
      <div class="bar">
        <div class="tools">
          <button class="sound" data-sound-toggle @click=${() => void this.media.toggleMute()} aria-pressed=${!this.media.muted}>${this.media.muted ? 'Robot sound: off' : 'Robot sound: on'}</button>
          <button class="full" @click=${this.fullscreen}>Full screen</button>
          <button class="stats-toggle" aria-pressed=${this.statsOpen} @click=${() => (this.statsOpen = !this.statsOpen)}>Stats</button>
        </div>
        <form @submit=${this.say}>
          <input name="tts" maxlength=${MAX_TTS_CHARS} placeholder="Say something through the robot" aria-label="Text for the robot to speak" autocomplete="off" enterkeyhint="send" />
          <button type="submit">Say</button>
        </form>
      </div>`;
  }

  /** Banners and results, in one region that scrolls when a short screen cannot show them all. */
  private renderNotices() {
    const status = this.conn.status;
    const robot = this.conn.robot;
    const halt = this.drive.sender.lastHalt;
    const stopped = robot.lastStopped;
    return html`<div class="notices" role="region" aria-label="Messages" tabindex="0">${[
      this.renderRecordingState(),
      robot.talk?.speaker === 'playing' ? html`<div><span class="speaker" role="status" data-speaker="playing">Robot speaker: playing ${robot.talk.by === robot.session ? 'your voice' : 'talk'}</span></div>` : nothing,
      this.renderModeNotices(),
      status.reason && status.state !== 'live' ? html`<div class="notice ${status.state === 'degraded' ? '' : 'bad'}" role="alert">${status.reason}</div>` : nothing,
      halt ? html`<div class="notice" role="alert">Robot stopped: ${halt.reason}.${this.drive.halted ? ' Release the stick to drive again.' : ''}</div>` : nothing,
      !halt && stopped && stopped.reason !== 'command' && Date.now() - this.conn.link.clock.toLocal(stopped.at) < 10_000
        ? html`<div class="notice">Robot stopped: ${STOP_REASON_TEXT[stopped.reason] ?? stopped.reason}.</div>` : nothing,
      robot.lease.you && robot.lease.requestedBy ? html`<div class="notice">Someone asks for control. <button @click=${() => this.lease('release')}>Hand over</button></div>` : nothing,
      robot.lastError?.code === 'lease_held' ? html`<div class="notice bad">${robot.lastError.message}</div>` : nothing,
      this.media.talk.error ? html`<div class="notice bad" role="alert">${this.media.talk.error}</div>` : nothing,
      this.ttsError ? html`<div class="notice bad" role="alert">${this.ttsError}</div>` : nothing,
      this.renderActions(),
    ]}</div>`;
  }

  /**
   * Whoever watches, by either path, sees that the robot is being recorded (on the local path the
   * bridge passes the relay's word on); on the server path the driver holding control starts and
   * stops it and drivers open the list (the relay refuses recordings to viewers).
   */
  private renderRecordingState() {
    const robot = this.conn.robot;
    const rec = robot.recording;
    if (!rec) return nothing;
    // Record and Recordings talk to the relay: only on its path.
    const controls = rec.available && this.conn.mode.path === 'server';
    const live = this.conn.status.state === 'live';
    const driverSession = this.settings.value.sessionRole === 'driver';
    const error = robot.lastError?.ref === 'record' && robot.lastError !== this.errorBeforeRecord ? robot.lastError : null;
    return [
      html`<div class="recording" data-recording=${rec.active ? 'active' : 'off'}>
        ${rec.active ? html`<span class="rec" role="status">● REC — this robot is being recorded${rec.by ? ` (started by ${rec.by})` : ''}</span>` : nothing}
        ${controls && robot.isDriver
          ? html`<button class="record" aria-pressed=${rec.active} ?disabled=${!live} @click=${() => this.record(rec.active ? 'stop' : 'start')}>${rec.active ? 'Stop recording' : 'Record'}</button>`
          : nothing}
        ${controls && driverSession
          ? html`<button class="recordings-toggle" aria-pressed=${this.recordingsOpen} @click=${() => (this.recordingsOpen = !this.recordingsOpen)}>Recordings</button>`
          : nothing}
      </div>`,
      !rec.active && rec.stopped && rec.stopped !== 'request' ? html`<div class="notice bad" role="alert">${RECORDING_STOPPED_TEXT[rec.stopped]}</div>` : nothing,
      error ? html`<div class="notice bad" role="alert" data-error="record">${error.message}</div>` : nothing,
    ];
  }

  private renderRecordings() {
    const s = this.settings.value;
    // Listed again whenever a recording starts or stops (its since/active change).
    const rec = this.conn.robot.recording;
    return html`<hv-recordings class="recordings" .playbackUrl=${s.playbackUrl} .robot=${s.robotId} .token=${s.sessionToken}
      .revision=${(rec?.since ?? 0) + (rec?.active ? 1 : 0)}></hv-recordings>`;
  }

  private record(action: 'start' | 'stop'): void {
    this.errorBeforeRecord = this.conn.robot.lastError;
    this.conn.mode.serverLink?.record?.(action);
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
