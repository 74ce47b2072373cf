// Server mode's link: the same Link state machine as local mode (ws-link.ts), over the relay's
// `/ws/client/<clientId>?token=<session token>`. The relay answers `welcome`, `lease` and forwards
// the robot's messages, so everything above the link (command queue, robot state, drive loop) is
// unchanged. On top it reads the relay's own notices: `robot {online}` (is the robot connected to
// the relay at all), `session {token, expiresAt}` (the answer to `refresh`) and `recording` (is the
// server recording the robot's camera; `record()` asks it to start or stop). Binary frames are
// never sent here: the relay does not carry audio (talk goes over WHIP, robot sound over WHEP).
// Once the socket is live it also offers a drive datagram channel (drive-channel.ts): every drive,
// motor and stop then goes by both; the relay and the robot act on whichever copy comes first.

import { isDriveChannelType, parseRelayToClient, type RecordingMsg, type RecordMsg, type RefreshMsg, type RtcOfferMsg, type SessionMsg } from '../../../protocol/relay.ts';
import type { ClientMessage, HelloMsg } from '../../../protocol/messages.ts';
import type { ClockOffset } from './clock.ts';
import { DriveChannel } from './drive-channel.ts';
import { Emitter } from './emitter.ts';
import type { Link, LinkEvents, LinkStatus } from './link.ts';
import { WsLink, type LinkTiming } from './ws-link.ts';

export interface RelayTarget {
  /** The relay's base URL (http(s)://host[:port][/prefix]). */
  serverUrl: string;
  /** Session token `hs_…`. */
  token: string;
}

export interface RelayEvents extends Record<string, unknown> {
  /** The robot's socket to the relay came (true) or went (false). */
  robot: boolean;
  /** A fresh session token: the old one no longer works. */
  session: SessionMsg;
  /** Whether the server records the robot (sent on join and on every change). */
  recording: RecordingMsg;
}

export interface RelayLinkOptions {
  target: () => RelayTarget;
  hello: () => Omit<HelloMsg, 'v' | 'type'>;
  /** This tab's id at the relay (the robot sees it as the session). */
  clientId?: string;
  timing?: Partial<LinkTiming>;
  WebSocketImpl?: new (url: string) => WebSocket;
  now?: () => number;
  /** The drive channel's RTCPeerConnection (default the browser's; null: no channel). */
  PeerConnection?: typeof RTCPeerConnection | null;
}

/** The relay's WebSocket URL for one client; the token goes in the query (no headers on WS). */
export function relayWsUrl(t: RelayTarget, clientId: string): string {
  const base = new URL(t.serverUrl.endsWith('/') ? t.serverUrl : `${t.serverUrl}/`);
  const url = new URL(`ws/client/${encodeURIComponent(clientId)}`, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', t.token);
  return url.href;
}

/** A client id the relay accepts (CLIENT_ID_PATTERN), new per page load. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `app-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export class RelayLink implements Link {
  readonly kind = 'relay' as const;
  readonly clientId: string;
  private readonly inner: WsLink;
  private readonly relayEvents = new Emitter<RelayEvents>();
  /** The drive datagram channel, offered once per live socket. */
  readonly driveChannel: DriveChannel;
  private channelOffered = false;
  /** null until the relay said; false while the robot is not connected to the relay. */
  robotOnline: boolean | null = null;
  /** The relay's last `recording` frame on this socket (null until it said, and once the socket drops). */
  recording: RecordingMsg | null = null;

  constructor(opts: RelayLinkOptions) {
    this.clientId = opts.clientId ?? newClientId();
    this.inner = new WsLink({
      kind: 'relay',
      url: () => relayWsUrl(opts.target(), this.clientId),
      hello: opts.hello,
      ...(opts.timing ? { timing: opts.timing } : {}),
      ...(opts.WebSocketImpl ? { WebSocketImpl: opts.WebSocketImpl } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      intercept: (frame) => this.relayFrame(frame),
    });
    this.driveChannel = new DriveChannel({
      sendOffer: (sdp) => this.inner.sendFrame({ ...({ v: 1, type: 'rtc_offer', sdp } satisfies RtcOfferMsg) }),
      ...(opts.PeerConnection !== undefined ? { PeerConnection: opts.PeerConnection } : {}),
    });
    this.inner.on('status', (s) => {
      if (s.state === 'lost' || s.state === 'closed') {
        this.setOnline(null);
        this.recording = null;
        this.driveChannel.close();
        this.channelOffered = false;
      } else if (s.state === 'live' && !this.channelOffered) {
        this.channelOffered = true;
        void this.driveChannel.open();
      }
    });
  }

  get status(): LinkStatus {
    return this.inner.status;
  }
  get welcome() {
    return this.inner.welcome;
  }
  get heartbeatRttMs() {
    return this.inner.heartbeatRttMs;
  }
  get clock(): ClockOffset {
    return this.inner.clock;
  }

  start(): void {
    this.inner.start();
  }
  stop(reason?: string): void {
    this.inner.stop(reason);
    this.driveChannel.close();
  }
  /** On the socket; drive, motor, stop and heartbeat also on the drive channel when it is open. */
  send(message: ClientMessage): boolean {
    const sent = this.inner.send(message);
    if (sent && isDriveChannelType(message.type)) this.driveChannel.send(JSON.stringify(message));
    return sent;
  }
  /** The relay does not carry binary audio: always false. */
  sendBinary(): boolean {
    return false;
  }
  on<K extends keyof LinkEvents>(type: K, fn: (value: LinkEvents[K]) => void): () => void {
    return this.inner.on(type, fn);
  }
  onRelay<K extends keyof RelayEvents>(type: K, fn: (value: RelayEvents[K]) => void): () => void {
    return this.relayEvents.on(type, fn);
  }

  /** Asks the relay to start or stop recording (the driver only); the answer is a `recording` event or an error message. */
  record(action: RecordMsg['action']): boolean {
    const frame: RecordMsg = { v: 1, type: 'record', action };
    return this.inner.sendFrame({ ...frame });
  }

  /** Asks for a fresh session token over the open socket; the answer comes as a `session` event. */
  refresh(): boolean {
    const frame: RefreshMsg = { v: 1, type: 'refresh' };
    return this.inner.sendFrame({ ...frame });
  }

  private relayFrame(frame: Record<string, unknown>): boolean {
    // A relay without the channel says so; the socket carries drive alone, nothing for the operator to see.
    if (frame.type === 'error' && frame.ref === 'rtc_offer') {
      this.driveChannel.close(); // refused, not lost: offering again would be refused again
      return true;
    }
    if (frame.type !== 'robot' && frame.type !== 'session' && frame.type !== 'recording' && frame.type !== 'rtc_answer') return false;
    const parsed = parseRelayToClient(frame);
    if (!parsed.ok) return true; // ours, but malformed: nothing to act on
    const m = parsed.value;
    if (m.type === 'robot') this.setOnline(m.online);
    else if (m.type === 'rtc_answer') void this.driveChannel.answer(m.sdp);
    else if (m.type === 'recording') {
      this.recording = m;
      this.relayEvents.emit('recording', m);
    }
    else this.relayEvents.emit('session', m);
    return true;
  }

  private setOnline(v: boolean | null): void {
    if (this.robotOnline === v) return;
    this.robotOnline = v;
    if (v !== null) this.relayEvents.emit('robot', v);
  }
}
