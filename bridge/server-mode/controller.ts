// Server mode, the robot side: the relay link, the RTSP publisher and the talk reader,
// and the state the API reports (`off | connecting | live | fallback | stopping`).
//
// Rules decided here:
// - ONE LEASE AUTHORITY: the bridge's lease. The relay's `driver` frame makes that client a
//   candidate, which takes the bridge lease when it is free (at once, or as soon as a local driver
//   releases). While a local WebSocket session holds it, the relay driver's commands are refused
//   with the local driver named; a local operator likewise cannot take the lease from a relay
//   driver. So a local and a remote driver never both drive.
// - Each relay client is a Peer (relay-peer.ts) handled by the SAME handlers as local sessions: the
//   deadman, latest-wins and ttl apply per client, whichever path the commands came by. A relay
//   client that leaves, and every relay client when the link drops, is gone like a closed local
//   socket: if it was driving, the robot stops.
// - FALLBACK: the relay link lost (detected within 1.5 s) or the publisher failing (FFmpeg exits at
//   once when MediaMTX drops the TCP connection; a stall is caught at 2 s) puts the state to
//   'fallback': the server stream stops (or is being retried), local mode is untouched, and both
//   the link and the publisher retry with backoff capped at 2 s, so server mode returns by itself.
//   The publisher runs only while the relay link is up. With `fallback_to_local: false` a failure
//   after going live ends server mode instead (state 'off' with the error) until /server/start.

import type { Logger } from '../../common/log.ts';
import type { RelayToRobotMessage } from '../../protocol/relay.ts';
import { TELEMETRY_INTERVAL_MS } from '../ws/gateway.ts';
import type { WsGateway } from '../ws/gateway.ts';
import type { Lease } from '../safety/lease.ts';
import type { Hardware } from '../hardware/parts.ts';
import type { RemoteTalk } from '../ws/session.ts';
import { basicAuth, notConfigured, publishUrl, relayWsUrl, rtspBase, talkUrl, type ServerModeConfig } from './endpoints.ts';
import { Publisher } from './publisher.ts';
import { RelayLink } from './relay-link.ts';
import { RelayPeer } from './relay-peer.ts';
import { TalkPlayer, TALK_GIVE_UP_MS, type TalkEnd } from './talk-player.ts';

export type ServerState = 'off' | 'connecting' | 'live' | 'fallback' | 'stopping';

/** GET /server/status's `status` and /system_status's `server` (never the password). */
export interface ServerStatus {
  state: ServerState;
  /** Date.now() of the last state change. */
  since: number;
  last_error: string | null;
  relay_connected: boolean;
  publishing: boolean;
  bitrate_kbps: number;
  fps: number;
  /** Operators connected through the relay (its client join/leave). */
  viewers: number;
  server_url: string;
  stream_key: string;
  rtsp_url: string;
  enabled: boolean;
  fallback_to_local: boolean;
  /** Who talks through the server now, and whether their audio is flowing to the speaker. */
  talk: { by: string | null; flowing: boolean; mic_ducked: boolean };
}

export interface ServerModeDeps {
  config: () => ServerModeConfig;
  gateway: WsGateway;
  lease: Lease;
  hardware: Hardware;
  log: Logger;
}

type StartResult = { ok: true } | { ok: false; field?: string; msg: string };

export class ServerMode {
  private state: ServerState = 'off';
  private since = Date.now();
  private lastError: string | null = null;
  private failedSinceStart = false;
  private cfg: ServerModeConfig;
  private link: RelayLink | null = null;
  private publisher: Publisher | null = null;
  private talk: TalkPlayer | null = null;
  private talker: RelayPeer | null = null;
  private peers = new Map<string, RelayPeer>();
  private relayDriver: string | null = null;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void)[] = [];
  private transition: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ServerModeDeps) {
    this.cfg = deps.config();
    this.unsubscribe.push(deps.lease.onChange(() => this.grantRelayDriver()));
    this.unsubscribe.push(deps.gateway.onBroadcast((m) => this.link?.send(m, m.type === 'telemetry')));
  }

  status(): ServerStatus {
    const cfg = this.state === 'off' ? this.deps.config() : this.cfg;
    const pub = this.publisher?.stats();
    return {
      state: this.state,
      since: this.since,
      last_error: this.lastError,
      relay_connected: this.link?.isUp ?? false,
      publishing: pub?.publishing ?? false,
      bitrate_kbps: pub?.bitrate_kbps ?? 0,
      fps: pub?.fps ?? 0,
      viewers: this.peers.size,
      server_url: cfg.server_url,
      stream_key: cfg.stream_key,
      rtsp_url: rtspBase(cfg),
      enabled: this.deps.config().enabled,
      fallback_to_local: cfg.fallback_to_local,
      talk: { by: this.talker?.id ?? null, flowing: this.talk?.flowing ?? false, mic_ducked: this.publisher?.isDucked ?? false },
    };
  }

  /** Whether the config has what server mode needs (for /system_status `available`). */
  get configured(): boolean {
    return notConfigured(this.deps.config()) === null;
  }

  /** (Re)starts with the current config. Serialised with stop(): API calls never interleave. */
  start(): Promise<StartResult> {
    const run = async (): Promise<StartResult> => {
      const cfg = this.deps.config();
      const problem = notConfigured(cfg);
      if (problem) return { ok: false, field: problem.field, msg: problem.msg };
      const tap = this.deps.hardware.video?.tap?.();
      if (!tap) return { ok: false, msg: `no camera to publish: ${this.deps.hardware.problems.video ?? 'not configured'}` };
      if (this.state !== 'off') await this.teardown();
      this.cfg = cfg;
      this.lastError = null;
      this.failedSinceStart = false;
      this.setState('connecting');
      const log = this.deps.log;
      const link = new RelayLink({ url: relayWsUrl(cfg), authorization: basicAuth(cfg), log: log.child('relay') });
      this.link = link;
      link.on('up', () => this.onLinkUp());
      link.on('down', (reason: string, wasUp: boolean) => void this.onLinkDown(reason, wasUp));
      link.on('frame', (f: RelayToRobotMessage, at: number) => void this.onFrame(f, at));
      const publisher = new Publisher({
        tap, mic: this.deps.hardware.mic, url: () => publishUrl(this.cfg), where: `${rtspBase(cfg)}/robots/${cfg.stream_key}`,
        video: { width: cfg.video_width, height: cfg.video_height, fps: cfg.video_fps, kbps: cfg.video_kbps },
        audioKbps: cfg.audio_kbps, log: log.child('publish'),
      });
      this.publisher = publisher;
      publisher.on('live', () => this.update());
      publisher.on('down', (reason: string) => this.onFailure(reason));
      const sink = this.deps.hardware.speakerSink;
      if (sink) {
        const talk = new TalkPlayer({ sink, url: () => talkUrl(this.cfg), log: log.child('talk') });
        this.talk = talk;
        talk.on('flowing', () => {
          publisher.duck(true);
          this.deps.gateway.talkFlowChanged();
        });
        talk.on('ended', (reason: TalkEnd) => this.onTalkEnded(reason));
      }
      log.info('server mode starting', { relay: link.url, rtsp: rtspBase(cfg), stream: cfg.stream_key });
      link.start();
      return { ok: true };
    };
    const next = this.transition.then(run, run);
    this.transition = next.catch(() => {});
    return next;
  }

  stop(): Promise<void> {
    const run = async () => { if (this.state !== 'off') await this.teardown(); };
    const next = this.transition.then(run, run);
    this.transition = next.catch(() => {});
    return next;
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

  // ---- the link ------------------------------------------------------------------------------

  private onLinkUp(): void {
    this.deps.gateway.setMicDemand('server-mode', true);
    this.publisher?.start();
    if (!this.telemetryTimer) {
      this.telemetryTimer = setInterval(() => {
        if (this.peers.size) this.link?.send(this.deps.gateway.telemetry(), true);
      }, TELEMETRY_INTERVAL_MS);
    }
    this.update();
  }

  private async onLinkDown(reason: string, wasUp: boolean): Promise<void> {
    if (this.state === 'off' || this.state === 'stopping') return;
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.telemetryTimer = null;
    // Every remote operator is gone with the link: a remote driver leaves a stopped robot.
    const peers = [...this.peers.values()];
    this.peers.clear();
    this.relayDriver = null;
    for (const p of peers) await this.deps.gateway.peerGone(p);
    // The server stream stops while the relay is away (viewers could not drive anyway).
    if (wasUp) {
      this.deps.gateway.setMicDemand('server-mode', false);
      await this.publisher?.stop();
    }
    this.onFailure(reason);
  }

  private onFailure(reason: string): void {
    if (this.state === 'off' || this.state === 'stopping') return;
    this.lastError = reason;
    const wasLive = this.state === 'live';
    this.failedSinceStart = true;
    if (wasLive && !this.cfg.fallback_to_local) {
      this.deps.log.warn('server mode failed; fallback_to_local is off, so it stays off until /server/start', { reason });
      void this.stop();
      return;
    }
    this.update();
  }

  private update(): void {
    if (this.state === 'off' || this.state === 'stopping') return;
    const live = (this.link?.isUp ?? false) && (this.publisher?.isLive ?? false);
    const next: ServerState = live ? 'live' : this.failedSinceStart ? 'fallback' : 'connecting';
    if (next === 'live') this.failedSinceStart = true; // from now on any loss is a fallback
    this.setState(next);
  }

  private setState(state: ServerState): void {
    if (state === this.state) return;
    this.deps.log.info('server mode state', { from: this.state, to: state, lastError: this.lastError });
    this.state = state;
    this.since = Date.now();
  }

  // ---- frames from the relay -----------------------------------------------------------------

  private async onFrame(f: RelayToRobotMessage, arrivedAt: number): Promise<void> {
    switch (f.type) {
      case 'client': {
        if (f.event === 'join') {
          const p = this.peer(f.client, f.name, f.role);
          if (f.name) p.name = f.name;
          p.role = f.role;
          this.deps.lease.rename(p.id, p.name);
          return;
        }
        const p = this.peers.get(f.client);
        if (!p) return;
        this.peers.delete(f.client);
        if (this.relayDriver === f.client) this.relayDriver = null;
        await this.deps.gateway.peerGone(p);
        return;
      }
      case 'driver': {
        this.relayDriver = f.client;
        // The relay moved its lease: a relay peer holding the bridge lease for it lets go.
        const holder = this.deps.lease.driver;
        const holderPeer = holder ? [...this.peers.values()].find((p) => p.id === holder.session) : undefined;
        if (holderPeer && holderPeer.client !== f.client) await this.deps.gateway.release(holderPeer);
        if (f.client) {
          const p = this.peer(f.client, f.name, 'driver');
          if (f.name) p.name = f.name;
          const r = this.deps.lease.take(p.id, p.name);
          if (!r.ok) p.sendError('lease_held', `the robot is driven locally by session ${r.holder.session} (${r.holder.name}); you drive when they release`, undefined, r.holder.session);
        }
        return;
      }
      case 'forward': {
        const m = f.msg;
        // hello and lease belong to the relay (it owns the remote lease); never act on them here.
        if (m.type === 'hello' || m.type === 'lease') return;
        this.deps.gateway.dispatch(this.peer(f.client, null, 'viewer'), m, arrivedAt);
        return;
      }
    }
  }

  private peer(client: string, name: string | null, role: 'driver' | 'viewer'): RelayPeer {
    let p = this.peers.get(client);
    if (!p) {
      const ids = new Set([...this.peers.values()].map((x) => x.id));
      // Aliased: the getter below has its own `this`.
      const ctrl = this;
      let self: RelayPeer | null = null;
      const talkAudio: RemoteTalk = {
        start: () => { if (self) this.startTalk(self); },
        stop: () => this.stopTalk(),
        get flowing() { return !!self && ctrl.talker === self && (ctrl.talk?.flowing ?? false); },
      };
      p = new RelayPeer(client, name, role, this.link!, talkAudio, (id) => ids.has(id));
      self = p;
      this.peers.set(client, p);
    }
    return p;
  }

  /** The relay's driver takes the bridge lease as soon as it is free. */
  private grantRelayDriver(): void {
    if (!this.relayDriver || this.deps.lease.driver || !this.link?.isUp) return;
    const p = this.peers.get(this.relayDriver);
    if (p) this.deps.lease.take(p.id, p.name);
  }

  // ---- talk ----------------------------------------------------------------------------------

  private startTalk(peer: RelayPeer): void {
    if (!this.talk) return peer.sendError('unavailable', 'the robot has no speaker for server talk');
    this.talker = peer;
    this.talk.start();
  }

  private stopTalk(): void {
    this.talker = null;
    this.talk?.stop();
    this.publisher?.duck(false);
  }

  private onTalkEnded(reason: TalkEnd): void {
    const peer = this.talker;
    this.publisher?.duck(false);
    if (!peer) return;
    if (reason === 'gave_up') peer.sendError('unavailable', `no talk audio arrived on robots/${this.cfg.stream_key}/talk within ${TALK_GIVE_UP_MS / 1000} s`, undefined, 'talk');
    else if (reason === 'failed') peer.sendError('unavailable', `talk playback failed: ${this.talk?.lastError ?? 'unknown error'}`.slice(0, 500), undefined, 'talk');
    this.deps.gateway.endTalk(peer.id);
    this.talker = null;
  }

  // ---- teardown ------------------------------------------------------------------------------

  private async teardown(): Promise<void> {
    this.setState('stopping');
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.telemetryTimer = null;
    this.link?.stop();
    const peers = [...this.peers.values()];
    this.peers.clear();
    this.relayDriver = null;
    for (const p of peers) await this.deps.gateway.peerGone(p);
    this.talker = null;
    this.deps.gateway.setMicDemand('server-mode', false);
    await Promise.all([this.publisher?.stop(), this.talk?.close()]);
    this.link = null;
    this.publisher = null;
    this.talk = null;
    this.setState('off');
  }
}
