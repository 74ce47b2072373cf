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
import { CopyFilter } from '../../common/command-copies.ts';
import { isDriveChannelType, parseDriveChannelToRobot, type PublishCredentialMsg, type RecordingMsg, type RelayToRobotMessage } from '../../protocol/relay.ts';
import type { DriveChannel } from './drive-channel.ts';
import type { VideoTap } from '../hardware/parts.ts';
import { basicAuth, isLoopbackHost, mediaCredentials, publishUrl, relayWsUrl, rtspBase, rtspHostPort, talkUrl, type ServerModeConfig } from './endpoints.ts';
import { Publisher } from './publisher.ts';
import { RelayClients } from './relay-clients.ts';
import { RelayLink } from './relay-link.ts';
import type { ServerModeDeps } from './server-state.ts';
import { ServerTalk } from './server-talk.ts';
import { TalkPlayer } from './talk-player.ts';
import { TlsTunnel } from './tls-tunnel.ts';

/**
 * HAVATAR_DRIVE_CHANNEL=off: no drive datagram channel, drive over the relay socket alone. WebRTC
 * (werift) adds ~12 MB RSS in server mode (docs/PERFORMANCE.md, "Robot footprint"); a robot short
 * of memory can keep it out. Read when a run starts.
 */
const driveChannelOn = (): boolean => process.env.HAVATAR_DRIVE_CHANNEL !== 'off';
/**
 * The longest the link waits for WebRTC's warm-up: whatever happens inside werift, the robot
 * still connects to its relay, with drive over the socket alone at worst.
 */
const WARM_UP_BOUND_MS = 5000;

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
  /**
   * The drive datagram channel to the relay (drive-channel.ts, imported only once a link is up),
   * offered on every link; null while there is none. Drive commands then come twice, by the
   * socket and by the channel: `copies` lets the first through and drops the second.
   */
  private channel: DriveChannel | null = null;
  private readonly channelOn = driveChannelOn();
  private channelRetry: NodeJS.Timeout | undefined;
  /** Channel offers in a row that did not open (the retry pause doubles with each). */
  private channelFailures = 0;
  private readonly copies = new CopyFilter();
  private badChannelFrames = 0;
  /** close() was called: a link start still waiting for WebRTC's warm-up must not happen. */
  private closed = false;

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
    this.link.on('up', () => { this.linkUp(); if (this.channelOn) void this.openChannel(); });
    this.link.on('down', (reason: string, wasUp: boolean) => { this.stopWaiting(); this.closeChannel(); this.clearRecording(); on.linkDown(reason, wasUp); });
    this.link.on('frame', (f: RelayToRobotMessage, at: number) => {
      if (f.type === 'publish_credential') this.credentialArrived(f);
      else if (f.type === 'recording') this.recordingChanged(f);
      else if (f.type === 'rtc_answer') void this.channel?.answer(f.sdp);
      else this.command(f, at);
    });
    this.publisher.on('live', () => on.publishing());
    this.publisher.on('down', (reason: string) => on.publishFailed(reason));
  }

  /** A frame for the relay's clients, by the socket or the channel; the second copy of a command stops here. */
  private command(f: RelayToRobotMessage, at: number): void {
    if (f.type === 'forward' && isDriveChannelType(f.msg.type) && !this.copies.first(f.client, f.msg)) return;
    if (f.type === 'client' && f.event === 'leave') this.copies.forget(f.client);
    void this.clients.onFrame(f, at);
  }

  private async openChannel(retry = false): Promise<void> {
    this.closeChannel();
    if (!retry) this.channelFailures = 0;
    const log = this.deps.log.child('drive-channel');
    try {
      const { DriveChannel } = await import('./drive-channel.ts');
      if (!this.link.isUp || this.channel) return; // the link went (or came again) while it loaded
      // The offer is sent as offer() returns, so the answer always finds this.channel set.
      const dc = await DriveChannel.offer({
        relayHost: new URL(this.link.url).hostname, log,
        sendOffer: (sdp) => this.link.send({ v: 1, type: 'rtc_offer', sdp }),
        onLapse: () => this.channelLapsed(dc),
        onMessage: (text) => {
          const at = Date.now();
          const f = parseDriveChannelToRobot(text);
          if (f.ok) return this.command(f.value, at);
          if (++this.badChannelFrames <= 5) log.warn('invalid frame on the drive channel', { error: f.error, field: f.field });
        },
      });
      if (!this.link.isUp || this.channel) dc.close();
      else this.channel = dc;
    } catch (err) {
      log.warn('no drive channel: drive goes over the relay socket alone', { error: (err as Error).message });
    }
  }

  private closeChannel(): void {
    clearTimeout(this.channelRetry);
    this.channelRetry = undefined;
    this.channel?.close();
    this.channel = null;
  }

  /**
   * The channel did not open or closed by itself while the link lives: offered again after a
   * pause (2 s doubling), a few times, so one handshake lost on a lossy uplink does not cost the
   * whole connection its channel. The relay takes 5 offers per socket.
   */
  private channelLapsed(dc: DriveChannel): void {
    if (this.channel !== dc) return;
    this.channel = null;
    if (!this.link.isUp || this.channelFailures >= 4) return;
    const pause = 2000 * 2 ** this.channelFailures++;
    this.channelRetry = setTimeout(() => { this.channelRetry = undefined; if (this.link.isUp) void this.openChannel(true); }, pause);
    this.channelRetry.unref();
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
    // WebRTC's first set-up blocks the event loop (drive-channel.ts warmWebRtc): paid before the
    // link is up, so the relay never sees a silent robot; without WebRTC the link starts anyway.
    if (!this.channelOn) { this.link.start(); return; }
    let bound: NodeJS.Timeout | undefined;
    const warm = import('./drive-channel.ts').then((m) => m.warmWebRtc());
    const late = new Promise<void>((_, reject) => { bound = setTimeout(() => reject(new Error(`no warm-up within ${WARM_UP_BOUND_MS} ms`)), WARM_UP_BOUND_MS); });
    void Promise.race([warm, late])
      .catch((err: Error) => this.deps.log.warn('WebRTC did not start: drive goes over the relay socket alone', { error: err.message }))
      .finally(() => { clearTimeout(bound); if (!this.closed) this.link.start(); });
  }

  /** Everything of this run stopped: the link, every relay client (a remote driver leaves a stopped robot), the stream, talk. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWaiting();
    this.closeChannel();
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
