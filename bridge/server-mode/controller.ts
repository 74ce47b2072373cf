// Server mode, the robot side: when a run (server-run.ts: the relay link, the RTSP publisher, the
// talk reader, the relay's clients) begins and ends, and the state the API reports. Its lifecycle
// is SERVER_TRANSITIONS (server-state.ts): off → connecting → live ⇄ fallback, → stopping → off.
//
// Rules decided here:
// - ONE LEASE AUTHORITY: the bridge's lease, which the relay's driver takes only when it is free
//   (relay-clients.ts). So a local and a remote driver never both drive.
// - Each relay client is a Peer (relay-peer.ts) handled by the SAME handlers as local sessions: the
//   deadman, latest-wins and ttl apply per client, whichever path the commands came by. Every relay
//   client is gone when the link drops: if one was driving, the robot stops.
// - FALLBACK: the relay link lost (detected within 1.5 s) or the publisher failing (FFmpeg exits at
//   once when MediaMTX drops the TCP connection; a stall is caught at 2 s) puts the state to
//   'fallback': the server stream stops (or is being retried), local mode is untouched, and both
//   the link and the publisher retry with backoff capped at 2 s, so server mode returns by itself.
//   The publisher runs only while the relay link is up. With `fallback_to_local: false` any
//   failure, before or after going live, ends server mode instead of falling back (state 'off',
//   last_error saying why) until /server/start.

import { StateMachine, Timers } from '../../common/state-machine.ts';
import { TELEMETRY_INTERVAL_MS } from '../ws/gateway.ts';
import { mediaPathProblem, notConfigured, rtspBase, type ServerModeConfig } from './endpoints.ts';
import type { PublisherStats } from './publisher.ts';
import { ServerRun } from './server-run.ts';
import { isServerModeOn, SERVER_TRANSITIONS, type ServerModeDeps, type ServerState, type ServerStatus, type StartResult } from './server-state.ts';

export { SERVER_TRANSITIONS, type ServerModeDeps, type ServerState, type ServerStatus } from './server-state.ts';

/** The uplink policy's state as /server/status says it (snake case, the shape flattened). */
function uplinkStatus(u: NonNullable<PublisherStats['uplink']>): NonNullable<ServerStatus['video_uplink']> {
  // The policy keeps monotonic time (performance.now); the status's times are Date.now().
  const since = Math.round(Date.now() - (performance.now() - u.since));
  return { step: u.step, of: u.of, name: u.name, reason: u.reason, since, queue_ms: u.queueMs, ...u.shape, adaptive: u.adaptive };
}

export class ServerMode {
  private readonly machine = new StateMachine<ServerState>('server mode', 'off', SERVER_TRANSITIONS);
  /** Telemetry to the relay's clients ('telemetry'), while the link is up. */
  private readonly timers = new Timers();
  private since = Date.now();
  private lastError: string | null = null;
  private cfg: ServerModeConfig;
  private run: ServerRun | null = null;
  /** The drive limits last told to the relay, as JSON; '' once the link is new. */
  private saidLimits = '';
  private readonly unsubscribe: (() => void)[] = [];
  /** start() and stop() run one after the other: API calls never interleave. */
  private transition: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ServerModeDeps) {
    this.cfg = deps.config();
    this.unsubscribe.push(deps.lease.onChange(() => this.run?.clients.grantRelayDriver()));
    this.unsubscribe.push(deps.gateway.onBroadcast((m) => this.run?.link.send(m, m.type === 'telemetry')));
  }

  get state(): ServerState { return this.machine.state; }

  status(): ServerStatus {
    const cfg = this.machine.is('off') ? this.deps.config() : this.cfg;
    const run = this.run;
    const pub = run?.publisher.stats();
    return {
      state: this.machine.state,
      since: this.since,
      last_error: this.lastError,
      relay_connected: run?.link.isUp ?? false,
      publishing: pub?.publishing ?? false,
      bitrate_kbps: pub?.bitrate_kbps ?? 0,
      fps: pub?.fps ?? 0,
      video_uplink: pub?.uplink ? uplinkStatus(pub.uplink) : null,
      viewers: run?.clients.size ?? 0,
      server_url: cfg.server_url,
      stream_key: cfg.stream_key,
      rtsp_url: rtspBase(cfg),
      enabled: this.deps.config().enabled,
      fallback_to_local: cfg.fallback_to_local,
      talk: { by: run?.talk.by ?? null, flowing: run?.talk.flowing ?? false, mic_ducked: run?.publisher.isDucked ?? false },
      recording: { active: run?.recording?.active ?? false, since: run?.recording?.since ?? null, by: run?.recording?.by ?? null },
      server_mode_enabled: isServerModeOn(this.machine.state),
      connected_to_server: run?.link.isUp ?? false,
      video_streaming: pub?.publishing ?? false,
      audio_streaming: pub?.audio ?? false,
    };
  }

  /** Whether the config has what server mode needs (for /system_status `available`). */
  get configured(): boolean {
    return notConfigured(this.deps.config()) === null;
  }

  /** (Re)starts with the current config. */
  start(): Promise<StartResult> {
    return this.serialised(() => this.begin());
  }

  stop(): Promise<void> {
    return this.serialised(async () => { if (!this.machine.is('off')) await this.teardown(); });
  }

  /** The server_mode block changed (POST /config or /server/config): apply without a restart. */
  async configChanged(next: ServerModeConfig, previous: ServerModeConfig): Promise<void> {
    if (JSON.stringify(next) === JSON.stringify(previous)) return;
    if (next.enabled) {
      const r = await this.start();
      if (!r.ok) {
        this.lastError = r.msg;
        this.deps.log.warn('server mode not started', { reason: r.msg });
      }
    } else {
      await this.stop();
    }
  }

  async close(): Promise<void> {
    await this.stop();
    for (const u of this.unsubscribe) u();
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.transition.then(fn, fn);
    this.transition = next.catch(() => {});
    return next;
  }

  private async begin(): Promise<StartResult> {
    const cfg = this.deps.config();
    const problem = notConfigured(cfg) ?? mediaPathProblem(cfg);
    // Kept as the last error too, so /server/status says what to set (a start at boot has no caller to tell).
    if (problem) { this.lastError = problem.msg; return { ok: false, field: problem.field, msg: problem.msg }; }
    const tap = this.deps.hardware.video?.tap?.();
    if (!tap) return { ok: false, msg: `no camera to publish: ${this.deps.hardware.problems.video ?? 'not configured'}` };
    if (!this.machine.is('off')) await this.teardown();
    this.cfg = cfg;
    this.lastError = null;
    this.setState('connecting');
    this.run = new ServerRun(cfg, tap, this.deps, {
      linkUp: () => this.onLinkUp(),
      linkDown: (reason, wasUp) => void this.onLinkDown(reason, wasUp),
      publishing: () => this.update(),
      publishFailed: (reason) => this.onFailure(reason),
    });
    this.run.start();
    return { ok: true };
  }

  // ---- what a run reports ----------------------------------------------------------------------

  private onLinkUp(): void {
    const run = this.run;
    this.deps.gateway.setMicDemand('server-mode', true);
    run?.publisher.start();
    this.saidLimits = '';
    this.sayLimits();
    if (!this.timers.has('telemetry')) {
      this.timers.every(TELEMETRY_INTERVAL_MS, () => {
        this.sayLimits();
        if (run?.clients.size) {
          // The viewers watch the published video: they are told when it is stepped down and why.
          const video = run.publisher.videoNote();
          const frame = this.deps.gateway.telemetry();
          run.link.send(video ? { ...frame, video } : frame, true);
        }
      }, 'telemetry');
    }
    this.update();
  }

  /**
   * The relay welcomes operators itself; this robot's welcome tells it the real drive limits (the
   * deadman above all) to put in those welcomes. Said when the link comes up and again whenever
   * the settings change them.
   */
  private sayLimits(): void {
    const welcome = this.deps.gateway.welcome('robot');
    const limits = JSON.stringify(welcome.limits);
    if (limits === this.saidLimits || !this.run?.link.isUp) return;
    this.saidLimits = limits;
    this.run.link.send(welcome);
  }

  private async onLinkDown(reason: string, wasUp: boolean): Promise<void> {
    const run = this.run;
    if (!run || this.machine.is('off', 'stopping')) return;
    this.timers.clear('telemetry');
    // Every remote operator is gone with the link: a remote driver leaves a stopped robot.
    await run.clients.dropAll();
    // The server stream stops while the relay is away (viewers could not drive anyway).
    if (wasUp) {
      this.deps.gateway.setMicDemand('server-mode', false);
      await run.publisher.stop();
    }
    // A restart in the meantime: this loss belongs to a run that is over.
    if (run === this.run) this.onFailure(reason);
  }

  private onFailure(reason: string): void {
    if (this.machine.is('off', 'stopping')) return;
    // fallback_to_local off: no 'fallback' state at all, whether the server was live or never
    // reached. Server mode ends and /server/status's last_error says why, until /server/start.
    if (!this.cfg.fallback_to_local) {
      this.lastError = `${reason} (fallback_to_local is off: server mode stopped; POST /server/start to try again)`;
      this.deps.log.warn('server mode failed; fallback_to_local is off, so it stays off until /server/start', { reason });
      void this.stop();
      return;
    }
    this.lastError = reason;
    this.update(true);
  }

  /** Live when the run is; otherwise still connecting until the first failure or the first live, then fallback. */
  private update(failed = false): void {
    if (this.machine.is('off', 'stopping')) return;
    const next: ServerState = this.run?.live ? 'live' : failed || !this.machine.is('connecting') ? 'fallback' : 'connecting';
    this.setState(next);
  }

  private setState(state: ServerState): void {
    if (this.machine.is(state)) return;
    this.deps.log.info('server mode state', { from: this.machine.state, to: state, lastError: this.lastError });
    this.machine.to(state);
    this.since = Date.now();
  }

  private async teardown(): Promise<void> {
    this.setState('stopping');
    this.timers.clearAll();
    await this.run?.close();
    this.run = null;
    this.setState('off');
  }
}
