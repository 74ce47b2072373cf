// Push-to-talk through the server, on the robot side: which relay client's audio the talk player
// (talk-player.ts) plays now, the publisher's microphone ducked while it plays (so the driver never
// hears their own voice come back), and the talker told why playback ended when it ended by itself.

import type { WsGateway } from '../ws/gateway.ts';
import type { RemoteTalk } from '../ws/session.ts';
import type { Publisher } from './publisher.ts';
import type { RelayPeer } from './relay-peer.ts';
import { TALK_GIVE_UP_MS, type TalkEnd, type TalkPlayer } from './talk-player.ts';

export class ServerTalk {
  private talker: RelayPeer | null = null;

  constructor(
    /** Null without a speaker: talk is refused. */
    private readonly player: TalkPlayer | null,
    private readonly publisher: Publisher,
    private readonly gateway: WsGateway,
    private readonly streamKey: string,
  ) {
    player?.on('flowing', () => {
      publisher.duck(true);
      gateway.talkFlowChanged();
    });
    player?.on('ended', (reason: TalkEnd) => this.ended(reason));
  }

  /** The peer id of who talks now. */
  get by(): string | null { return this.talker?.id ?? null; }
  get flowing(): boolean { return this.player?.flowing ?? false; }

  /** The talk audio of one relay client, as its Peer offers it to the shared handlers. */
  remote(peer: () => RelayPeer | null): RemoteTalk {
    const talk = this;
    return {
      start: () => { const p = peer(); if (p) talk.start(p); },
      stop: () => talk.stop(),
      get flowing() { const p = peer(); return !!p && talk.talker === p && talk.flowing; },
    };
  }

  /** Every relay client is gone (server mode stops): nobody to tell how talk ended. */
  forget(): void { this.talker = null; }

  close(): Promise<void> { return this.player?.close() ?? Promise.resolve(); }

  private start(peer: RelayPeer): void {
    if (!this.player) return peer.sendError('unavailable', 'the robot has no speaker for server talk');
    this.talker = peer;
    this.player.start();
  }

  private stop(): void {
    this.talker = null;
    this.player?.stop();
    this.publisher.duck(false);
  }

  private ended(reason: TalkEnd): void {
    const peer = this.talker;
    this.publisher.duck(false);
    if (!peer) return;
    if (reason === 'gave_up') peer.sendError('unavailable', `no talk audio arrived on robots/${this.streamKey}/talk within ${TALK_GIVE_UP_MS / 1000} s`, undefined, 'talk');
    else if (reason === 'failed') peer.sendError('unavailable', `talk playback failed: ${this.player?.lastError ?? 'unknown error'}`.slice(0, 500), undefined, 'talk');
    this.gateway.endTalk(peer.id);
    this.talker = null;
  }
}
