// One run of server mode, from start() to teardown: the relay link, the publisher, the talk player
// and the relay's clients, all built from one config. The controller decides when a run begins and
// ends and what its events mean; this is what a run is made of, and how it is taken down.

import type { RelayToRobotMessage } from '../../protocol/relay.ts';
import type { VideoTap } from '../hardware/parts.ts';
import { basicAuth, publishUrl, relayWsUrl, rtspBase, talkUrl, type ServerModeConfig } from './endpoints.ts';
import { Publisher } from './publisher.ts';
import { RelayClients } from './relay-clients.ts';
import { RelayLink } from './relay-link.ts';
import type { ServerModeDeps } from './server-state.ts';
import { ServerTalk } from './server-talk.ts';
import { TalkPlayer } from './talk-player.ts';

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

  constructor(readonly cfg: ServerModeConfig, tap: VideoTap, private readonly deps: ServerModeDeps, on: RunEvents) {
    const log = deps.log;
    this.link = new RelayLink({ url: relayWsUrl(cfg), authorization: basicAuth(cfg), log: log.child('relay') });
    this.publisher = new Publisher({
      tap, mic: deps.hardware.mic, url: () => publishUrl(cfg), where: `${rtspBase(cfg)}/robots/${cfg.stream_key}`,
      video: { width: cfg.video_width, height: cfg.video_height, fps: cfg.video_fps, kbps: cfg.video_kbps },
      audioKbps: cfg.audio_kbps, log: log.child('publish'),
    });
    const sink = deps.hardware.speakerSink;
    const player = sink ? new TalkPlayer({ sink, url: () => talkUrl(cfg), log: log.child('talk') }) : null;
    this.talk = new ServerTalk(player, this.publisher, deps.gateway, cfg.stream_key);
    this.clients = new RelayClients({ link: this.link, lease: deps.lease, gateway: deps.gateway, talk: this.talk });
    this.link.on('up', () => on.linkUp());
    this.link.on('down', (reason: string, wasUp: boolean) => on.linkDown(reason, wasUp));
    this.link.on('frame', (f: RelayToRobotMessage, at: number) => void this.clients.onFrame(f, at));
    this.publisher.on('live', () => on.publishing());
    this.publisher.on('down', (reason: string) => on.publishFailed(reason));
  }

  /** The relay link up and the stream really sending. */
  get live(): boolean { return this.link.isUp && this.publisher.isLive; }

  start(): void {
    this.deps.log.info('server mode starting', { relay: this.link.url, rtsp: rtspBase(this.cfg), stream: this.cfg.stream_key });
    this.link.start();
  }

  /** Everything of this run stopped: the link, every relay client (a remote driver leaves a stopped robot), the stream, talk. */
  async close(): Promise<void> {
    this.link.stop();
    await this.clients.dropAll();
    this.talk.forget();
    this.deps.gateway.setMicDemand('server-mode', false);
    await Promise.all([this.publisher.stop(), this.talk.close()]);
  }
}
