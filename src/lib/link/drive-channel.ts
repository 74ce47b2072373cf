// The app's end of the drive datagram channel (protocol/relay.ts DRIVE_CHANNEL): a WebRTC data
// channel to the relay, unordered and never retransmitted, that carries a second copy of every
// drive, motor and stop the relay link sends on its socket. A lost packet is then replaced by the
// next command 40 ms later instead of holding every later command behind a TCP retransmission
// (docs/RELIABILITY.md). The socket stays the reliable path: nothing here is needed to drive, and
// a channel that never opens (UDP blocked, an older relay) changes nothing.
//
// Offered over the relay socket once it is live (relay-link.ts), so it is that socket's: same
// session, same role. The relay is ICE-lite and ignores our candidates (it only answers the
// checks that reach its own), so the offer goes as soon as it is made, without waiting for
// gathering. The browser's own RTCPeerConnection: no library.

import { DRIVE_CHANNEL } from '../../../protocol/relay.ts';

/** Offers again after a failure, at most (then the socket alone until the next connection). */
const MAX_RETRIES = 4;

export type DriveChannelState = 'idle' | 'offering' | 'open' | 'closed';

export interface DriveChannelOptions {
  /** Sends `rtc_offer` on the relay socket; false when it cannot. */
  sendOffer(sdp: string): boolean;
  /** A line for the connection log. */
  log?(line: string): void;
  /** Tests and browsers without WebRTC: null means no channel, ever. */
  PeerConnection?: typeof RTCPeerConnection | null;
  /** Give up on a channel not open by then (ms). */
  openTimeoutMs?: number;
  /**
   * A channel that did not open or closed by itself is offered again after this pause, doubling
   * up to 16 times it (ms): one lost handshake on a lossy link must not cost the whole session.
   */
  retryMs?: number;
}

export class DriveChannel {
  private pc: RTCPeerConnection | null = null;
  private channel: RTCDataChannel | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Failed offers in a row (the retry pause doubles with each). */
  private failures = 0;
  state: DriveChannelState = 'idle';

  constructor(private readonly opts: DriveChannelOptions) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Makes a peer and sends its offer (a previous one is closed first). */
  async open(): Promise<void> {
    this.close();
    this.failures = 0;
    await this.offer();
  }

  private async offer(): Promise<void> {
    this.drop();
    const PC = this.opts.PeerConnection === undefined ? globalThis.RTCPeerConnection : this.opts.PeerConnection;
    if (!PC) return;
    const pc = new PC({ iceServers: [] });
    const channel = pc.createDataChannel(DRIVE_CHANNEL.label, {
      negotiated: DRIVE_CHANNEL.negotiated, id: DRIVE_CHANNEL.id, ordered: DRIVE_CHANNEL.ordered, maxRetransmits: DRIVE_CHANNEL.maxRetransmits,
    });
    this.pc = pc;
    this.channel = channel;
    this.state = 'offering';
    channel.onopen = () => {
      if (this.channel !== channel) return;
      clearTimeout(this.timer);
      this.failures = 0;
      this.state = 'open';
      this.opts.log?.('drive channel open (drive commands also go by UDP)');
    };
    channel.onclose = () => { if (this.channel === channel) this.lapse(); };
    this.timer = setTimeout(() => {
      if (this.channel !== channel || this.state === 'open') return;
      this.opts.log?.('drive channel did not open: drive goes over the socket alone for now');
      this.lapse();
    }, this.opts.openTimeoutMs ?? 10_000);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      if (this.pc !== pc) return;
      if (!this.opts.sendOffer(pc.localDescription?.sdp ?? '')) this.close();
    } catch (err) {
      this.opts.log?.(`drive channel: no offer (${(err as Error).message})`);
      if (this.pc === pc) this.lapse();
    }
  }

  /** The relay's `rtc_answer`. */
  async answer(sdp: string): Promise<void> {
    const pc = this.pc;
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      this.opts.log?.(`drive channel: the relay's answer was refused (${(err as Error).message})`);
      if (this.pc === pc) this.close();
    }
  }

  /** Sends a copy of a command; false unless the channel is open. */
  send(text: string): boolean {
    if (this.state !== 'open' || !this.channel) return false;
    try {
      this.channel.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes for good (the socket went): no retry. */
  close(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.drop();
  }

  /** The channel failed on its own: dropped, and offered again after a pause while the socket lives. */
  private lapse(): void {
    this.drop();
    // The relay takes a handful of offers per socket (server/relay/datagram.ts MAX_OFFERS_PER_SOCKET).
    if (this.failures >= MAX_RETRIES) {
      this.opts.log?.('drive channel given up for this connection: drive goes over the socket alone');
      return;
    }
    const base = this.opts.retryMs ?? 2000;
    const pause = base * 2 ** Math.min(this.failures++, 4);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.offer();
    }, pause);
  }

  private drop(): void {
    clearTimeout(this.timer);
    const pc = this.pc;
    this.pc = null;
    this.channel = null;
    if (this.state !== 'idle') this.state = 'closed';
    pc?.close();
  }
}
