// The robot's end of the drive datagram channel (protocol/relay.ts DRIVE_CHANNEL): a WebRTC peer
// toward the relay, offered over the relay link (which is authenticated: the channel is that
// link's) and answered by the relay (server/relay/datagram.ts). The relay sends each drive, motor,
// stop and heartbeat it forwards on the socket a second time here, unordered and never
// retransmitted, so a lost TCP segment no longer holds the robot's commands for a retransmission
// timeout. What arrives is validated (parseDriveChannelToRobot) and handed to the same handler as
// the socket's frames; the second copy of a command is dropped there (common/command-copies.ts).
//
// Loaded with import() only when server mode runs (server-run.ts), and werift with import() here
// too (the bridge's bundle keeps npm packages external, and a static import would be hoisted to
// the bundle's top): WebRTC costs memory the bridge does not spend in local mode. The peer gathers on one address only: the one this machine
// uses to reach the relay, so it never probes its other interfaces.
import { createSocket } from 'node:dgram';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import type { Logger } from '../../common/log.ts';
import { DRIVE_CHANNEL } from '../../protocol/relay.ts';

/** An offer not answered, or a channel not open, by then: given up until the link is rebuilt. */
export const CHANNEL_OPEN_TIMEOUT_MS = 10_000;

export interface DriveChannelOptions {
  /** The relay's host (name or address), to find the local address that reaches it. */
  relayHost: string;
  /** Sends the offer on the relay link; false when the link is down. */
  sendOffer(sdp: string): boolean;
  /** A text frame from the relay, not yet validated. */
  onMessage(text: string): void;
  /** The channel did not open in time, or closed by itself (not by close()). */
  onLapse?(): void;
  log: Logger;
}

/** The local address the kernel would send from toward `host` (no packet is sent: UDP connect only routes). */
export function localAddressToward(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.on('error', (err) => { s.close(); reject(err); });
    s.connect(9, host, () => {
      const { address } = s.address();
      s.close();
      resolve(address);
    });
  });
}

/**
 * Sets one peer up and down. The first peer of a process blocks its event loop (werift's modules,
 * the first DTLS key: 1.8 s to import and a 0.96 s block for the first offer at load 22 on 2
 * cores, then 15 ms an offer), long enough for the relay to call a link silent (1.5 s): server
 * mode pays it before it connects.
 */
export async function warmWebRtc(): Promise<void> {
  const { RTCPeerConnection: PeerConnection } = await import('werift');
  const pc = new PeerConnection({ iceServers: [], iceUseIpv6: false, iceUseTcp: false, iceAdditionalHostAddresses: ['127.0.0.1'] });
  pc.createDataChannel(DRIVE_CHANNEL.label, { ...DRIVE_CHANNEL });
  await pc.setLocalDescription(await pc.createOffer());
  await pc.close();
}

export class DriveChannel {
  private readonly pc: RTCPeerConnection;
  private readonly channel: RTCDataChannel;
  private opened = false;
  private closed = false;
  private readonly timeout: NodeJS.Timeout;

  private constructor(private readonly opts: DriveChannelOptions, local: string, PeerConnection: typeof RTCPeerConnection) {
    this.pc = new PeerConnection({
      iceServers: [], iceUseIpv6: false, iceUseTcp: false, iceAdditionalHostAddresses: [local],
      iceFilterCandidatePair: (pair) => pair.localCandidate.host === local,
    });
    this.channel = this.pc.createDataChannel(DRIVE_CHANNEL.label, { ...DRIVE_CHANNEL });
    this.channel.stateChange.subscribe((state) => {
      if (state === 'open' && !this.closed) {
        this.opened = true;
        clearTimeout(this.timeout);
        opts.log.info('drive channel open', { local });
      }
      if (state === 'closed') this.lapse();
    });
    this.channel.onMessage.subscribe((data) => {
      if (!this.closed) opts.onMessage(typeof data === 'string' ? data : data.toString('utf8'));
    });
    this.timeout = setTimeout(() => {
      if (this.opened || this.closed) return;
      opts.log.info('drive channel did not open (UDP blocked?); drive goes over the socket alone for now', { afterMs: CHANNEL_OPEN_TIMEOUT_MS });
      this.lapse();
    }, CHANNEL_OPEN_TIMEOUT_MS);
    this.timeout.unref();
  }

  /** Makes the peer and sends its offer over the relay link; the relay's `rtc_answer` goes to answer(). */
  static async offer(opts: DriveChannelOptions): Promise<DriveChannel> {
    const local = await localAddressToward(opts.relayHost);
    const { RTCPeerConnection: PeerConnection } = await import('werift');
    const dc = new DriveChannel(opts, local, PeerConnection);
    await dc.pc.setLocalDescription(await dc.pc.createOffer());
    const sdp = onlyCandidatesOf(dc.pc.localDescription?.sdp ?? '', local);
    if (!dc.closed && !opts.sendOffer(sdp)) dc.close();
    return dc;
  }

  get isOpen(): boolean { return this.opened && !this.closed; }
  get isClosed(): boolean { return this.closed; }

  async answer(sdp: string): Promise<void> {
    if (this.closed || this.pc.signalingState !== 'have-local-offer') return;
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      this.opts.log.warn('the relay\'s drive channel answer was refused', { error: (err as Error).message.slice(0, 120) });
      this.close();
    }
  }

  /** Sends a frame; false unless the channel is open. */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    try { this.channel.send(text); return true; } catch { return false; }
  }

  private lapse(): void {
    if (this.closed) return;
    this.close();
    this.opts.onLapse?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timeout);
    void this.pc.close().catch(() => {});
  }
}

/** The offer with only the host candidates on `address` (werift adds every interface's). */
export function onlyCandidatesOf(sdp: string, address: string): string {
  return sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') || l.split(' ')[4] === address).join('\r\n');
}
