// One run of server mode, from start() to teardown: the relay link, the publisher, the talk player
// and the relay's clients, all built from one config. The controller decides when a run begins and
// ends and what its events mean; this is what a run is made of, and how it is taken down.
//
// Media credentials: the relay sends this robot a short-lived publish credential as soon as the
// link is up (and a fresh one before each expires). The run tells the controller the link is up
// only once it has one, so the first publish already uses it; a relay that sends none within
// CREDENTIAL_WAIT_MS (one from before they existed) gets the long-lived password, over TLS or to
// this machine only (endpoints.ts mediaCredentials).

import { readFileSync } from 'node:fs';
import type { PublishCredentialMsg, RecordingMsg, RelayToRobotMessage } from '../../protocol/relay.ts';
import type { VideoTap } from '../hardware/parts.ts';
import { basicAuth, isLoopbackHost, mediaCredentials, publishUrl, relayWsUrl, rtspBase, rtspHostPort, talkUrl, type ServerModeConfig } from './endpoints.ts';
import { Publisher } from './publisher.ts';
import { RelayClients } from './relay-clients.ts';
import { RelayLink } from './relay-link.ts';
import type { ServerModeDeps } from './server-state.ts';
import { ServerTalk } from './server-talk.ts';
import { TalkPlayer } from './talk-player.ts';
import { TlsTunnel } from './tls-tunnel.ts';

/** How long a new link waits for the relay's publish credential before publishing without one. */
export const CREDENTIAL_WAIT_MS = 2000;

/** What the controller hears from a run. */
export interface RunEvents {
  linkUp(): void;
  linkDown(reason: string, wasUp: boolean): void;
  /** The stream is really sending (again). */
  publishing(): void;
  publishFailed(reason: string): void;
}

export class ServerRun {
  readonly link: RelayLink;
  readonly publisher: Publisher;
  readonly talk: ServerTalk;
  readonly clients: RelayClients;
  /** What the relay last said about recording this robot (null: nothing yet on this link). */
  recording: RecordingMsg | null = null;
  /** The relay's latest publish credential (never logged). */
  private credential: PublishCredentialMsg | null = null;
  /** The link is up and waits for its credential before the controller hears of it. */
  private waitingUp: NodeJS.Timeout | null = null;
  /** FFmpeg's talk reader goes through it when MediaMTX is reached over TLS (tls-tunnel.ts). */
  private readonly tunnel: TlsTunnel | null;

  constructor(readonly cfg: ServerModeConfig, tap: VideoTap, private readonly deps: ServerModeDeps, private readonly on: RunEvents) {
    const log = deps.log;
    const ca = () => (cfg.rtsp_ca_file ? readFileSync(cfg.rtsp_ca_file) : undefined);
    const cred = () => mediaCredentials(cfg, this.credential);
    this.link = new RelayLink({ url: relayWsUrl(cfg), authorization: basicAuth(cfg), log: log.child('relay') });
    this.publisher = new Publisher({
      tap, mic: deps.hardware.mic, url: () => publishUrl(cfg, cred()), where: `${rtspBase(cfg)}/robots/${cfg.stream_key}`, ca,
      video: { width: cfg.video_width, height: cfg.video_height, fps: cfg.video_fps, kbps: cfg.video_kbps },
      audioKbps: cfg.audio_kbps, log: log.child('publish'),
    });
    const tls = rtspBase(cfg).startsWith('rtsps:');
    this.tunnel = tls ? new TlsTunnel({ ...rtspHostPort(cfg), ca, log: log.child('talk') }) : null;
    const sink = deps.hardware.speakerSink;
    const player = sink ? new TalkPlayer({ sink, url: () => this.talkUrl(cred()), log: log.child('talk') }) : null;
    this.talk = new ServerTalk(player, this.publisher, deps.gateway, cfg.stream_key);
    this.clients = new RelayClients({ link: this.link, lease: deps.lease, gateway: deps.gateway, talk: this.talk });
    this.link.on('up', () => this.linkUp());
    this.link.on('down', (reason: string, wasUp: boolean) => { this.stopWaiting(); this.clearRecording(); on.linkDown(reason, wasUp); });
    this.link.on('frame', (f: RelayToRobotMessage, at: number) => {
      if (f.type === 'publish_credential') this.credentialArrived(f);
      else if (f.type === 'recording') this.recordingChanged(f);
      else void this.clients.onFrame(f, at);
    });
    this.publisher.on('live', () => on.publishing());
    this.publisher.on('down', (reason: string) => on.publishFailed(reason));
  }

  private recordingChanged(f: RecordingMsg): void {
    if (f.active !== (this.recording?.active ?? false)) {
      this.deps.log.info(f.active ? 'the server records this robot\'s camera' : 'the server stopped recording this robot\'s camera', { by: f.by, stopped: f.stopped });
    }
    this.recording = f;
    this.deps.gateway.setRecording(f);
  }

  /**
   * The relay link dropped (or server mode stops, which drops it): local operators are told "not
   * recorded", not left with a stale REC. That is what is known: the publisher runs only while the
   * link is up, so nothing more of this robot reaches the server to be recorded; if the relay still
   * holds a recording, its frame says so again once the link is back.
   */
  private clearRecording(): void {
    const last = this.recording;
    if (!last) return; // nothing was said on this link, so nothing to take back
    this.recording = null;
    this.deps.gateway.setRecording({ v: 1, type: 'recording', robot: last.robot, available: false, active: false, since: null, by: null });
    this.deps.gateway.setRecording(null);
  }

  /** The relay link up and the stream really sending. */
  get live(): boolean { return this.link.isUp && this.publisher.isLive; }

  start(): void {
    this.deps.log.info('server mode starting', { relay: this.link.url, rtsp: rtspBase(this.cfg), stream: this.cfg.stream_key });
    // clearTextProblem stops a run before it starts (endpoints.ts mediaPathProblem): plain RTSP here is loopback.
    if (!this.tunnel) this.deps.log.info('publishing over plain RTSP to this machine (loopback): nothing crosses the network');
    // The relay link carries the long-lived password: it must be wss:// unless the relay is here.
    const relayHost = new URL(this.link.url).hostname;
    if (this.link.url.startsWith('ws:') && !isLoopbackHost(relayHost)) {
      this.deps.log.warn('the relay link is not encrypted: the robot\'s password crosses the network in clear; use an https:// server_url', { relay: relayHost });
    }
    void this.tunnel?.listen().catch((err: Error) => this.deps.log.warn('talk tunnel did not start', { error: err.message }));
    this.link.start();
  }

  /** Everything of this run stopped: the link, every relay client (a remote driver leaves a stopped robot), the stream, talk. */
  async close(): Promise<void> {
    this.stopWaiting();
    this.link.stop();
    await this.clients.dropAll();
    this.talk.forget();
    this.deps.gateway.setMicDemand('server-mode', false);
    await Promise.all([this.publisher.stop(), this.talk.close()]);
    this.tunnel?.close();
  }

  private linkUp(): void {
    this.stopWaiting();
    this.waitingUp = setTimeout(() => {
      this.waitingUp = null;
      this.deps.log.warn('the relay issued no publish credential (a relay from before they existed): MediaMTX gets the long-lived password; update the relay');
      this.on.linkUp();
    }, CREDENTIAL_WAIT_MS);
  }

  private credentialArrived(f: PublishCredentialMsg): void {
    if (f.user !== this.cfg.stream_key) { this.deps.log.warn('publish credential for another robot ignored', { user: f.user }); return; }
    this.credential = f;
    this.deps.log.debug('publish credential received', { expiresAt: f.expiresAt });
    if (!this.waitingUp) return;
    this.stopWaiting();
    this.on.linkUp();
  }

  private stopWaiting(): void {
    if (this.waitingUp) clearTimeout(this.waitingUp);
    this.waitingUp = null;
  }

  /** The talk path: through the verifying tunnel over TLS, else straight (loopback). */
  private talkUrl(cred: { user: string; password: string }): string {
    if (!this.tunnel) return talkUrl(this.cfg, cred);
    if (!this.tunnel.port) throw new Error('the TLS tunnel for talk is not listening');
    return talkUrl(this.cfg, cred, `rtsp://127.0.0.1:${this.tunnel.port}`);
  }
}
