// Which path the app takes to the robot, and the switch between them at run time.
//
//   mode local  → phase 'local':  local WsLink + MJPEG. Nothing else runs.
//   mode server → phase 'server': RelayLink + WHEP (HLS when WebRTC cannot connect); each part
//                 reconnects by itself, nothing falls back.
//   mode auto   → 'server' first. While in 'server' the health rules below are watched; the first
//                 one broken switches to local at once ('fallback'), then the server is probed in
//                 the background ('probing') with backoff capped at PROBE_CAP_MS. A probe builds the
//                 whole server path beside the running local one (relay /health → relay socket live
//                 with the robot online → WHEP playing, when a view shows video) and only then
//                 swaps it in (make before break): no flapping back to a server that is half up.
//
// Auto's health rules (server phase): relay socket lost/closed · the relay says the robot is
// offline · the server video failed (unreachable, nothing published, refused, stalled, HLS error;
// an ICE failure is not one: it goes to HLS) · not live within CONNECT_DEADLINE_MS of entering.
//
// The rest of the app holds only the SwitchLink; this controller owns the real links and the
// video source. Every await re-checks the run generation; every timer is cleared in stop().

import type { RobotMessage } from '../../../protocol/messages.ts';
import type { RtcFailure } from '../video/webrtc-session.ts';
import type { VideoKind, VideoSource } from '../video/video-source.ts';
import type { Settings } from '../storage/settings.ts';
import { hasServerSession } from '../storage/settings.ts';
import { backoffDelay } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { isUsable, type Link } from './link.ts';
import type { RelayEvents } from './relay-link.ts';
import type { SwitchLink } from './switch-link.ts';

export type ModePhase = 'off' | 'local' | 'server' | 'fallback' | 'probing';

/** What the server path's link must offer beyond Link (RelayLink does; tests fake it). */
export interface ServerLink extends Link {
  readonly robotOnline: boolean | null;
  onRelay<K extends keyof RelayEvents>(type: K, fn: (value: RelayEvents[K]) => void): () => void;
  refresh(): boolean;
}

/** What the server path's video must offer beyond VideoSource (ServerVideo does). */
export interface ServerVideoLike extends VideoSource {
  readonly failure: RtcFailure | 'hls' | null;
  readonly hlsReason: string | null;
  readonly pc: RTCPeerConnection | null;
}

export interface ModeDeps {
  link: SwitchLink;
  local: Link;
  settings: () => Settings;
  makeRelayLink: () => ServerLink;
  makeLocalVideo: () => VideoSource;
  localVideoUrl: () => string;
  makeServerVideo: (s: Settings) => Promise<ServerVideoLike>;
  /** Saves a refreshed session token (settings); the links read it at their next connect. */
  saveSession?: (token: string, expiresAt: number) => Promise<void>;
  /** POST /api/session/refresh with the current token. */
  refreshHttp?: () => Promise<{ token: string; expiresAt: number }>;
  /** GET <server>/health: true when the relay (and MediaMTX behind it) answer. */
  health: (serverUrl: string) => Promise<boolean>;
  log?: (line: string) => void;
  timing?: Partial<ModeTiming>;
}

export interface ModeTiming {
  /** Auto: the relay must be live with the robot online this soon after entering server. */
  connectDeadlineMs: number;
  /** Auto: the server video must play this soon (covers WebRTC → HLS). */
  videoDeadlineMs: number;
  probeBaseMs: number;
  /** Probing backoff ceiling: the server is back in use at most this long after it returns. */
  probeCapMs: number;
  /** How often the server path's health is looked at besides events. */
  checkEveryMs: number;
}

export const DEFAULT_MODE_TIMING: ModeTiming = {
  connectDeadlineMs: 3000,
  videoDeadlineMs: 8000,
  probeBaseMs: 500,
  probeCapMs: 3000,
  checkEveryMs: 250,
};

interface ServerPath {
  link: ServerLink;
  video: ServerVideoLike | null;
  unsubs: (() => void)[];
}

export class ModeController {
  private readonly events = new Emitter<{ change: void }>();
  private readonly t: ModeTiming;
  phase: ModePhase = 'off';
  /** Why the app is not on the server (fallback/probing), or why server mode cannot run. */
  reason: string | null = null;
  /** When the next probe runs (Date.now() ms), while in fallback. */
  nextProbeAt: number | null = null;
  private server: ServerPath | null = null;
  private probe: ServerPath | null = null;
  private localVideo: VideoSource | null = null;
  private videoUsers = 0;
  private soundOn = false;
  private gen = 0;
  private attempt = 0;
  private enteredServerAt = 0;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private checkTimer: ReturnType<typeof setInterval> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set on a switch when the operator was driving: take the lease again on the new path. */
  private retakeLease = false;

  constructor(private readonly deps: ModeDeps) {
    this.t = { ...DEFAULT_MODE_TIMING, ...deps.timing };
    this.watchLease();
  }

  on(type: 'change', fn: () => void): () => void {
    return this.events.on(type, fn);
  }

  /** The path the link goes through now. */
  get path(): 'local' | 'server' {
    return this.phase === 'server' ? 'server' : 'local';
  }
  get mode(): Settings['mode'] {
    return this.deps.settings().mode;
  }
  /** Auto mode is on local because the server failed. */
  get fallback(): boolean {
    return this.phase === 'fallback' || this.phase === 'probing';
  }
  /** What a view should show (null when no view asked for video). */
  get video(): VideoSource | null {
    if (this.phase === 'server') return this.server?.video ?? null;
    return this.localVideo;
  }
  /** mjpeg | webrtc | hls, for the drive view's data-video. */
  get videoKind(): 'mjpeg' | 'webrtc' | 'hls' {
    const k: VideoKind | undefined = this.video?.kind;
    return k === 'whep' ? 'webrtc' : k === 'hls' ? 'hls' : 'mjpeg';
  }
  /** The server link (for session refresh and stats) while on the server. */
  get serverLink(): ServerLink | null {
    return this.phase === 'server' ? (this.server?.link ?? null) : null;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  start(): void {
    this.stop();
    const s = this.deps.settings();
    const gen = this.gen;
    if (s.mode === 'local') return this.enterLocal(null, 'local');
    if (!hasServerSession(s)) {
      const why = 'No server session: open an invite link (or switch to Local).';
      if (s.mode === 'server') {
        this.reason = why;
        // Server only, and nothing to connect with: stay off, say why.
        this.deps.link.use(this.deps.local, why);
        this.phase = 'off';
        this.changed();
        return;
      }
      return this.enterLocal(why, 'local');
    }
    this.scheduleRefresh();
    void this.enterServer(gen);
  }

  /** Everything off: links stopped, video stopped, timers cleared. */
  stop(): void {
    this.gen++;
    clearTimeout(this.probeTimer);
    clearInterval(this.checkTimer);
    clearTimeout(this.refreshTimer);
    this.probeTimer = this.checkTimer = this.refreshTimer = undefined;
    this.dropPath(this.server);
    this.dropPath(this.probe);
    this.server = this.probe = null;
    this.deps.local.stop('Mode changed.');
    this.localVideo?.stop();
    this.localVideo = null;
    this.phase = 'off';
    this.reason = null;
    this.nextProbeAt = null;
  }

  /** A view shows video: run the current path's video while at least one view does. */
  attachVideo(): void {
    if (++this.videoUsers === 1) void this.startVideo(this.gen);
  }

  detachVideo(): void {
    if (this.videoUsers === 0 || --this.videoUsers > 0) return;
    this.localVideo?.stop();
    this.localVideo = null;
    if (this.server?.video) {
      this.server.video.stop();
      this.server.video = null;
    }
    this.changed();
  }

  /** The local MJPEG URL changed (size, token, address): reload it. */
  reloadLocalVideo(): void {
    if (this.localVideo) this.localVideo.start(this.deps.localVideoUrl());
  }

  /** Robot sound in server mode plays from the <video>: unmuted only when the operator asked. */
  setSound(on: boolean): void {
    this.soundOn = on;
    const v = this.server?.video?.element;
    if (v instanceof HTMLVideoElement) v.muted = !on;
  }

  // ---- paths ------------------------------------------------------------------------------

  private enterLocal(reason: string | null, phase: 'local' | 'fallback'): void {
    this.deps.link.use(this.deps.local, reason ?? 'Local mode.');
    this.deps.local.start();
    this.phase = phase;
    this.reason = reason;
    if (this.videoUsers > 0) void this.startVideo(this.gen);
    this.changed();
  }

  private async enterServer(gen: number): Promise<void> {
    const path = this.newPath();
    this.server = path;
    this.phase = 'server';
    this.reason = null;
    this.enteredServerAt = performance.now();
    this.deps.link.use(path.link, 'Server mode: connecting through the relay.');
    path.link.start();
    this.watchServer(path);
    this.changed();
    if (this.videoUsers > 0) await this.startVideo(gen);
  }

  private newPath(): ServerPath {
    const link = this.deps.makeRelayLink();
    const path: ServerPath = { link, video: null, unsubs: [] };
    path.unsubs.push(link.onRelay('session', (m) => void this.onSession(m.token, m.expiresAt)));
    return path;
  }

  private dropPath(path: ServerPath | null): void {
    if (!path) return;
    for (const u of path.unsubs) u();
    path.link.stop('Leaving server mode.');
    path.video?.stop();
    path.video = null;
  }

  private async startVideo(gen: number): Promise<void> {
    if (this.phase === 'server' && this.server) {
      if (this.server.video) return;
      const path = this.server;
      const video = await this.deps.makeServerVideo(this.deps.settings());
      if (gen !== this.gen || this.server !== path || this.videoUsers === 0 || path.video) return void video.stop();
      path.video = video;
      this.adoptServerVideo(path, video);
      video.start(this.deps.settings().whepUrl);
      this.changed();
    } else if (this.phase !== 'off' && !this.localVideo) {
      this.localVideo = this.deps.makeLocalVideo();
      this.localVideo.start(this.deps.localVideoUrl());
      this.changed();
    }
  }

  private adoptServerVideo(path: ServerPath, video: ServerVideoLike): void {
    if (video.element instanceof HTMLVideoElement) video.element.muted = !this.soundOn;
    path.unsubs.push(
      video.onChange(() => {
        if (video.element instanceof HTMLVideoElement) video.element.muted = !this.soundOn;
        this.changed();
        if (this.server === path) this.check();
      }),
    );
  }

  // ---- auto: health, fallback, probing ------------------------------------------------------

  private watchServer(path: ServerPath): void {
    path.unsubs.push(
      path.link.on('status', () => this.check()),
      path.link.onRelay('robot', () => this.check()),
    );
    clearInterval(this.checkTimer);
    this.checkTimer = setInterval(() => this.check(), this.t.checkEveryMs);
  }

  /** Auto only: the first broken rule sends the app to local. */
  private check(): void {
    const path = this.server;
    if (this.phase !== 'server' || !path || this.mode !== 'auto') return;
    const why = this.serverProblem(path, performance.now() - this.enteredServerAt);
    if (why) this.fallBack(why);
  }

  private serverProblem(path: ServerPath, sinceMs: number): string | null {
    const st = path.link.status.state;
    if (st === 'lost' || st === 'closed') return `Relay connection lost${path.link.status.reason ? ` (${path.link.status.reason})` : ''}.`;
    if (path.link.robotOnline === false) return 'The robot is not connected to the server.';
    const v = path.video;
    if (v?.failure) return `Server video failed: ${v.error ?? v.failure}`;
    if (sinceMs > this.t.connectDeadlineMs && !(isUsable(st) && path.link.robotOnline)) return 'The server did not answer in time.';
    if (v && sinceMs > this.t.videoDeadlineMs && v.state !== 'playing') return 'No video from the server in time.';
    return null;
  }

  private fallBack(why: string): void {
    this.deps.log?.(`Auto: ${why} Falling back to local mode.`);
    this.retakeLease = this.wasDriving();
    clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    this.dropPath(this.server);
    this.server = null;
    this.enterLocal(`Server unavailable — local mode (fallback). ${why}`, 'fallback');
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    this.attempt++;
    const delay = backoffDelay(this.attempt, { baseMs: this.t.probeBaseMs, maxMs: this.t.probeCapMs });
    this.nextProbeAt = Date.now() + delay;
    const gen = this.gen;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (gen === this.gen && this.phase === 'fallback') void this.runProbe(gen);
    }, delay);
    this.changed();
  }

  /** Builds the server path beside the local one; swaps it in only when all of it works. */
  private async runProbe(gen: number): Promise<void> {
    const s = this.deps.settings();
    this.phase = 'probing';
    this.nextProbeAt = null;
    this.changed();
    const failed = (why: string): void => {
      if (gen !== this.gen) return;
      this.dropPath(this.probe);
      this.probe = null;
      this.phase = 'fallback';
      this.reason = `Server unavailable — local mode (fallback). ${why}`;
      this.scheduleProbe();
    };
    let healthy = false;
    try {
      healthy = await this.deps.health(s.serverUrl);
    } catch {
      healthy = false;
    }
    if (gen !== this.gen || this.phase !== 'probing') return;
    if (!healthy) return failed('The server does not answer.');

    const path = this.newPath();
    this.probe = path;
    path.link.start();
    const linkOk = await this.waitFor(gen, () => isUsable(path.link.status.state) && path.link.robotOnline === true, this.t.connectDeadlineMs);
    if (gen !== this.gen || this.probe !== path) return;
    if (!linkOk) return failed(path.link.robotOnline === false ? 'The robot is not connected to the server.' : 'The relay did not answer.');

    if (this.videoUsers > 0) {
      const video = await this.deps.makeServerVideo(s);
      if (gen !== this.gen || this.probe !== path) return void video.stop();
      path.video = video;
      video.start(s.whepUrl);
      const videoOk = await this.waitFor(gen, () => video.state === 'playing' || video.failure !== null, this.t.videoDeadlineMs);
      if (gen !== this.gen || this.probe !== path) return;
      if (!videoOk || video.failure) return failed(`Server video: ${video.error ?? 'no picture in time'}`);
    }

    // Swap: server path in, local path out.
    this.probe = null;
    this.retakeLease = this.wasDriving();
    this.server = path;
    this.phase = 'server';
    this.reason = null;
    this.attempt = 0;
    this.enteredServerAt = performance.now();
    this.deps.link.use(path.link, 'Auto: the server is back — switched to server mode.');
    this.deps.local.stop('Switched to server mode.');
    this.localVideo?.stop();
    this.localVideo = null;
    if (path.video) this.adoptServerVideo(path, path.video);
    this.watchServer(path);
    this.changed();
  }

  private waitFor(gen: number, cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const end = performance.now() + timeoutMs;
      const tick = (): void => {
        if (gen !== this.gen) return resolve(false);
        if (cond()) return resolve(true);
        if (performance.now() > end) return resolve(false);
        setTimeout(tick, 50);
      };
      tick();
    });
  }

  // ---- lease carried across a switch ----------------------------------------------------------
  // The robot's driver on one path is nobody on the other: an operator who was driving asks for
  // the lease again on the new path (driving itself stays halted until the stick is released).

  private lastLeaseYou = false;

  private watchLease(): void {
    this.deps.link.on('message', (m: RobotMessage) => {
      if (m.type === 'lease') this.lastLeaseYou = m.you;
      else if (m.type === 'welcome') this.lastLeaseYou = m.driver !== null && m.driver === m.session;
    });
    this.deps.link.on('status', (s) => {
      if (s.state === 'live' && this.retakeLease) this.takeLease();
    });
  }

  private wasDriving(): boolean {
    return this.lastLeaseYou;
  }

  private takeLease(): void {
    this.retakeLease = false;
    this.deps.link.send({ v: 1, type: 'lease', action: 'take' });
  }

  // ---- session refresh -----------------------------------------------------------------------
  // Halfway to expiry (at least 5 s away): over the relay socket when one is live (the answer
  // comes back as a `session` frame), otherwise with POST /api/session/refresh — so a long
  // fallback does not let the session lapse before the server returns.

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const s = this.deps.settings();
    if (!hasServerSession(s) || !this.deps.refreshHttp) return;
    const delay = Math.max(5000, (s.sessionExpiresAt - Date.now()) / 2);
    const gen = this.gen;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (gen === this.gen) void this.refreshNow(gen);
    }, Math.min(delay, 2 ** 31 - 1));
  }

  private async refreshNow(gen: number): Promise<void> {
    const link = this.server?.link;
    if (link && isUsable(link.status.state) && link.refresh()) {
      this.deps.log?.('Refreshing the server session over the relay socket.');
    } else if (this.deps.refreshHttp) {
      try {
        const next = await this.deps.refreshHttp();
        if (gen !== this.gen) return;
        await this.deps.saveSession?.(next.token, next.expiresAt);
        this.deps.log?.('Server session refreshed.');
      } catch (e) {
        this.deps.log?.(`Server session refresh failed: ${(e as Error).message}`);
      }
    }
    if (gen === this.gen) this.scheduleRefresh();
  }

  private async onSession(token: string, expiresAt: number): Promise<void> {
    const gen = this.gen;
    await this.deps.saveSession?.(token, expiresAt);
    this.deps.log?.(`Server session refreshed (valid until ${new Date(expiresAt).toLocaleTimeString()}).`);
    if (gen === this.gen) this.scheduleRefresh();
  }

  private changed(): void {
    this.events.emit('change', undefined);
  }
}
