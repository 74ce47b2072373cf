// The path selector: which path the app takes to the robot (local or server), and the switch
// between them at run time. Its phases and their allowed moves are PATH_TRANSITIONS (path-parts.ts,
// drawn in docs/ARCHITECTURE.md); to() is the one place the phase changes.
//
//   mode local  → phase 'local':  local WsLink + MJPEG. Nothing else runs.
//   mode server → phase 'server': RelayLink + WHEP (HLS when WebRTC cannot connect); each part
//                 reconnects by itself, nothing falls back.
//   mode auto   → 'server' first. While in 'server' the health rules (server-health.ts) are
//                 watched; the first one broken switches to local at once ('fallback'), then the
//                 server is probed in the background ('probing') with backoff capped at probeCapMs.
//                 A probe builds the whole server path beside the running local one and only then
//                 swaps it in (make before break): no flapping back to a server that is half up.
//
// The rest of the app holds only the SwitchLink; the selector owns the real links and the video
// source. Every await re-checks the run generation; every timer it starts (health check, probe
// pause, probe polls, session refresh) is in one timer set, cleared in stop().

import type { VideoKind, VideoSource } from '../video/video-source.ts';
import type { Settings } from '../storage/settings.ts';
import { hasServerSession } from '../storage/settings.ts';
import { StateMachine, Timers } from '../../../common/state-machine.ts';
import { backoffDelay } from '../../../common/backoff.ts';
import { Emitter } from './emitter.ts';
import { LeaseCarry } from './lease-carry.ts';
import { DEFAULT_PATH_TIMING, PATH_TRANSITIONS, dropServerPath, newServerPath, type PathDeps, type PathPhase, type PathTiming, type ServerLink, type ServerPath, type ServerVideoLike } from './path-parts.ts';
import { probeServer, serverProblem } from './server-health.ts';
import { SessionRefresh } from './session-refresh.ts';

/** How often a probe looks at the server path it is building. */
const PROBE_POLL_MS = 50;

export class PathSelector {
  private readonly events = new Emitter<{ change: void }>();
  private readonly t: PathTiming;
  private readonly machine = new StateMachine<PathPhase>('path selector', 'off', PATH_TRANSITIONS);
  private why: string | null = null;
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
  /** When Auto last fell back to local (performance.now()). */
  private fellBackAt = 0;
  /** Every timer the selector starts: 'check', 'probe', 'refresh' and the probe's polls (stop() ends those). */
  private readonly timers = new Timers();
  private readonly refresh: SessionRefresh;
  private readonly lease: LeaseCarry;

  constructor(private readonly deps: PathDeps) {
    this.t = { ...DEFAULT_PATH_TIMING, ...deps.timing };
    this.refresh = new SessionRefresh(deps, this.timers, () => this.gen, () => this.server?.link ?? null);
    this.lease = new LeaseCarry(deps.link);
  }

  get phase(): PathPhase {
    return this.machine.state;
  }
  /** Why the app is not on the server (fallback/probing), or why server mode cannot run. */
  get reason(): string | null {
    return this.why;
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
        // Server only, and nothing to connect with: stay off (stop() left the phase there), say why.
        this.why = why;
        this.deps.link.use(this.deps.local, why);
        return this.changed();
      }
      return this.enterLocal(why, 'local');
    }
    this.refresh.schedule();
    void this.enterServer(gen);
  }

  /** Everything off: links stopped, video stopped, timers cleared. */
  stop(): void {
    this.gen++;
    this.timers.clearAll();
    dropServerPath(this.server);
    dropServerPath(this.probe);
    this.server = this.probe = null;
    this.deps.local.stop('Mode changed.');
    this.localVideo?.stop();
    this.localVideo = null;
    if (this.phase !== 'off') this.to('off', null);
    this.why = null;
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
    this.to(phase, reason);
    if (this.videoUsers > 0) void this.startVideo(this.gen);
    this.changed();
  }

  private async enterServer(gen: number): Promise<void> {
    const path = this.newPath();
    this.server = path;
    this.to('server', null);
    this.enteredServerAt = performance.now();
    this.deps.link.use(path.link, 'Server mode: connecting through the relay.');
    path.link.start();
    this.watchServer(path);
    this.changed();
    if (this.videoUsers > 0) await this.startVideo(gen);
  }

  private newPath(): ServerPath {
    return newServerPath(this.deps.makeRelayLink(), (token, expiresAt) => void this.refresh.onSession(token, expiresAt));
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
    this.timers.every(this.t.checkEveryMs, () => this.check(), 'check');
  }

  /** Auto only: the first broken rule sends the app to local. */
  private check(): void {
    const path = this.server;
    if (this.phase !== 'server' || !path || this.mode !== 'auto') return;
    const why = serverProblem(path, performance.now() - this.enteredServerAt, this.t);
    if (why) this.fallBack(why);
  }

  private fallBack(why: string): void {
    this.deps.log?.(`Auto: ${why} Falling back to local mode.`);
    this.lease.switching();
    this.timers.clear('check');
    dropServerPath(this.server);
    this.server = null;
    this.enterLocal(`Server unavailable — local mode (fallback). ${why}`, 'fallback');
    this.fellBackAt = performance.now();
    this.scheduleProbe();
  }

  /**
   * The pause before the next probe: the backoff, or, when the last probe got no answer at all
   * soon after falling back (the phone's own network is out), a short one, so the server is back
   * in use soon after the network. A server that answers and refuses (restarting) gets the backoff,
   * so its clients do not all come back within the same half second.
   */
  private scheduleProbe(unanswered = false): void {
    this.attempt++;
    const recovering = unanswered && performance.now() - this.fellBackAt < this.t.probeRecoverForMs;
    const delay = recovering
      ? backoffDelay(1, { baseMs: this.t.probeRecoverMs, maxMs: this.t.probeRecoverMs, jitter: true })
      : backoffDelay(this.attempt, { baseMs: this.t.probeBaseMs, maxMs: this.t.probeCapMs, jitter: true });
    this.nextProbeAt = Date.now() + delay;
    const gen = this.gen;
    this.timers.after(delay, () => {
      if (gen === this.gen && this.phase === 'fallback') void this.runProbe(gen);
    }, 'probe');
    this.changed();
  }

  /** Builds the server path beside the local one (server-health.ts); swaps it in only when all of it works. */
  private async runProbe(gen: number): Promise<void> {
    this.to('probing', this.why);
    this.nextProbeAt = null;
    this.changed();
    const result = await probeServer({
      deps: this.deps, timing: this.t,
      wantVideo: () => this.videoUsers > 0,
      newPath: () => (this.probe = this.newPath()),
      current: (path) => gen === this.gen && (path ? this.probe === path : this.phase === 'probing'),
      waitFor: (cond, timeoutMs) => this.timers.poll(cond, PROBE_POLL_MS, timeoutMs),
    });
    if (!result || gen !== this.gen) return;
    if ('why' in result) {
      dropServerPath(this.probe);
      this.probe = null;
      this.to('fallback', `Server unavailable — local mode (fallback). ${result.why}`);
      return this.scheduleProbe(result.unanswered === true);
    }
    const path = result.path; // swap: server path in, local path out
    this.probe = null;
    this.lease.switching();
    this.server = path;
    this.to('server', null);
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

  /** The one place the phase changes: along PATH_TRANSITIONS only, with the reason that goes with it. */
  private to(next: PathPhase, reason: string | null): void {
    if (this.machine.to(next)) this.why = reason;
  }

  private changed(): void {
    this.events.emit('change', undefined);
  }
}
