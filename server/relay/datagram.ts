// The drive datagram channel's relay end (protocol/relay.ts DRIVE_CHANNEL): one WebRTC peer per
// socket that offered one, the relay always the answerer. A channel belongs to its socket: it is
// opened by an `rtc_offer` on that (already authenticated) socket, its frames are handled as that
// socket's (routing.ts, same role checks and validator), it has its own rate bucket like the
// socket's, and it is closed when the socket closes. The WebSocket keeps working whether or not a
// channel ever opens (UDP blocked: the offer is answered, nothing arrives, nothing changes).
//
// WebRTC from werift (pure TypeScript, no native build): a data channel is ICE + DTLS + SCTP, three
// protocols with their own RFCs, timers and security properties; a hand-written subset would be
// larger than the whole relay and would need the interop testing a maintained stack already has.
// The relay is ICE-lite: it never sends connectivity checks, it answers those that reach its host
// candidates, so it never probes an address a peer names (the peer's candidates are dropped).
//
// Config (env, server/relay/main.ts): HAVATAR_RELAY_DATAGRAM=off disables it;
// HAVATAR_RELAY_ICE_ADDRESSES (comma list) are the local addresses it gathers on and the only ones
// it advertises (default: every interface address werift finds); HAVATAR_RELAY_UDP_PORTS=min-max
// bounds the UDP ports (one per host address per peer), so a container can publish that range;
// HAVATAR_RELAY_PUBLIC_HOST adds each host candidate again with this address (the relay behind a
// 1:1 NAT or docker's port publishing: the public address is not on any interface).
import type { Logger } from '../../common/log.ts';
import { TokenBucket } from '../../common/token-bucket.ts';
import { CopyFilter } from '../../common/command-copies.ts';
import type { ClientMessage } from '../../protocol/messages.ts';
import { DRIVE_CHANNEL } from '../../protocol/relay.ts';
import type { HubClock } from './connection.ts';
import type { RelayLimits } from './limits.ts';

export interface DatagramConfig {
  /** Local addresses to gather on; only these are advertised (empty: werift's interface addresses). */
  addresses: string[];
  /** UDP port range [min, max] (null: the OS chooses). */
  ports: [number, number] | null;
  /** Addresses to advertise in addition, with each host candidate's port (NAT / published ports). */
  publicHosts: string[];
}

/** A channel that has not opened by then is given up (UDP blocked); the socket carries on alone. */
export const OPEN_TIMEOUT_MS = 10_000;
/** Offers one socket may make (each is a new peer: ICE sockets and a DTLS key). */
export const MAX_OFFERS_PER_SOCKET = 5;

/**
 * Reads the env; null when the channel is switched off. Throws on a malformed value. A relay that
 * listens on loopback only (`npm start`, tests) gathers on 127.0.0.1 unless told otherwise: its
 * peers are on this machine, and no other interface is probed or advertised.
 */
export function datagramConfigFromEnv(env: NodeJS.ProcessEnv, listenHost = '0.0.0.0'): DatagramConfig | null {
  if (env.HAVATAR_RELAY_DATAGRAM === 'off') return null;
  const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  let ports: [number, number] | null = null;
  if (env.HAVATAR_RELAY_UDP_PORTS) {
    const m = /^(\d+)-(\d+)$/.exec(env.HAVATAR_RELAY_UDP_PORTS.trim());
    const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!m || lo < 1024 || hi > 65535 || hi <= lo) throw new Error('HAVATAR_RELAY_UDP_PORTS must be min-max, 1024-65535, max > min');
    ports = [lo, hi];
  }
  const addresses = list(env.HAVATAR_RELAY_ICE_ADDRESSES);
  if (!addresses.length && listenHost === '127.0.0.1') addresses.push('127.0.0.1');
  return { addresses, ports, publicHosts: list(env.HAVATAR_RELAY_PUBLIC_HOST) };
}

/** What the owner of a channel hears from it. */
export interface ChannelHandlers {
  /** A text frame that passed the channel's rate bucket (the owner validates it). */
  message(text: string): void;
  /** A frame over the rate; `closing` when it used up the strikes and the channel is closed. */
  rateLimited(closing: boolean): void;
}

interface Peer {
  pc: import('werift').RTCPeerConnection;
  channel: import('werift').RTCDataChannel;
  open: boolean;
  bucket: TokenBucket;
  strikes: number;
  /** The second copy of a command (socket and channel) is dropped (common/command-copies.ts). */
  copies: CopyFilter;
}

type Werift = typeof import('werift');

/** The channels of one relay, by the socket (connection object) they belong to. */
export class Datagrams {
  private readonly peers = new Map<object, Peer>();
  private readonly offers = new WeakMap<object, number>();
  private werift: Promise<Werift> | null = null;

  constructor(private readonly cfg: DatagramConfig, private readonly limits: RelayLimits, private readonly clock: HubClock, private readonly log: Logger) {}

  get size(): number { return this.peers.size; }

  /**
   * Loads werift and sets one peer up and down, at start: the first peer's set-up blocks the event
   * loop (module loading, the first DTLS key: ~1 s measured at load 22 on 2 cores, 15 ms for the
   * next), which would otherwise land on every live socket when the first channel is offered.
   */
  async warm(): Promise<void> {
    const { RTCPeerConnection } = await (this.werift ??= import('werift'));
    const pc = new RTCPeerConnection({ iceServers: [], iceUseIpv6: false, iceUseTcp: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { only: '127.0.0.1' } as object });
    pc.createDataChannel(DRIVE_CHANNEL.label, { ...DRIVE_CHANNEL });
    await pc.setLocalDescription(await pc.createOffer());
    await pc.close();
  }

  /**
   * Answers `owner`'s offer with a channel that hands its frames to `on`. A second offer replaces
   * the first channel (the app's page came back, the robot's link was rebuilt).
   */
  async answer(owner: object, offerSdp: string, on: ChannelHandlers): Promise<{ ok: true; sdp: string } | { ok: false; error: string }> {
    const n = (this.offers.get(owner) ?? 0) + 1;
    this.offers.set(owner, n);
    if (n > MAX_OFFERS_PER_SOCKET) return { ok: false, error: `at most ${MAX_OFFERS_PER_SOCKET} drive channel offers per connection` };
    this.close(owner);
    const { RTCPeerConnection } = await (this.werift ??= import('werift'));
    const pc = new RTCPeerConnection({
      iceServers: [], iceLite: true, iceUseIpv6: false, iceUseTcp: false,
      iceAdditionalHostAddresses: this.cfg.addresses.length ? this.cfg.addresses : undefined,
      // werift gathers on the interface addresses that appear among these values, or on all when
      // none does; keys other than udp4/udp6 keep its sockets bound to every address (a published
      // port reaches the container's address through docker's NAT).
      iceInterfaceAddresses: this.cfg.addresses.length ? (Object.fromEntries(this.cfg.addresses.map((a, i) => [`only${i}`, a])) as object) : undefined,
      icePortRange: this.cfg.ports ?? undefined,
    });
    const peer: Peer = {
      pc, channel: pc.createDataChannel(DRIVE_CHANNEL.label, { ...DRIVE_CHANNEL }), open: false,
      bucket: new TokenBucket(this.limits.messagesPerSecond, this.limits.messageBurst, this.clock.mono()), strikes: 0,
      copies: new CopyFilter(),
    };
    try {
      // ICE-lite: the peer's candidates are never probed; its checks reach ours and are answered.
      await pc.setRemoteDescription({ type: 'offer', sdp: withoutCandidates(offerSdp) });
      await pc.setLocalDescription(await pc.createAnswer());
    } catch (err) {
      void pc.close();
      return { ok: false, error: `the offer could not be answered: ${(err as Error).message.slice(0, 120)}` };
    }
    this.peers.set(owner, peer);
    const timeout = setTimeout(() => {
      if (this.peers.get(owner) === peer && !peer.open) {
        this.log.info('drive channel did not open (UDP blocked?); the socket carries drive alone', { afterMs: OPEN_TIMEOUT_MS });
        this.close(owner);
      }
    }, OPEN_TIMEOUT_MS);
    timeout.unref();
    peer.channel.stateChange.subscribe((state) => {
      if (state === 'open') { peer.open = true; clearTimeout(timeout); this.log.info('drive channel open', { channels: this.peers.size }); }
      if (state === 'closed' && this.peers.get(owner) === peer) this.close(owner);
    });
    peer.channel.onMessage.subscribe((data) => {
      if (this.peers.get(owner) !== peer) return;
      if (!peer.bucket.take(this.clock.mono())) {
        const closing = ++peer.strikes >= this.limits.rateStrikes;
        if (closing) this.close(owner);
        on.rateLimited(closing);
        return;
      }
      peer.strikes = 0;
      on.message(typeof data === 'string' ? data : data.toString('utf8'));
    });
    return { ok: true, sdp: this.advertised(pc.localDescription?.sdp ?? '') };
  }

  /** Sends on `owner`'s channel if it is open; false otherwise (the socket copy is the one that counts). */
  send(owner: object, text: string): boolean {
    const peer = this.peers.get(owner);
    if (!peer?.open) return false;
    try { peer.channel.send(text); return true; } catch { return false; }
  }

  /**
   * False for the second copy of a command from `owner` (one came by the socket, one by the
   * channel); always true while `owner` has no channel, so the socket's path is unchanged.
   */
  firstCopy(owner: object, m: ClientMessage): boolean {
    const peer = this.peers.get(owner);
    return !peer || peer.copies.first('', m);
  }

  close(owner: object): void {
    const peer = this.peers.get(owner);
    if (!peer) return;
    this.peers.delete(owner);
    peer.open = false;
    void peer.pc.close().catch(() => {});
  }

  closeAll(): void {
    for (const owner of [...this.peers.keys()]) this.close(owner);
  }

  /** The answer with only the configured addresses' host candidates, plus each again on the public hosts. */
  private advertised(sdp: string): string {
    const { addresses, publicHosts } = this.cfg;
    const out: string[] = [];
    for (const line of sdp.split('\r\n')) {
      const c = /^a=candidate:(\S+) (\d+) udp (\d+) (\S+) (\d+) typ host(.*)$/.exec(line);
      if (!c) { if (!line.startsWith('a=candidate:')) out.push(line); continue; }
      if (addresses.length && !addresses.includes(c[4]!)) continue;
      out.push(line);
      for (const [i, host] of publicHosts.entries()) out.push(`a=candidate:${c[1]}p${i} ${c[2]} udp ${c[3]} ${host} ${c[5]} typ host${c[6]}`);
    }
    return out.join('\r\n');
  }
}

/** The offer without its candidates (see the ICE-lite note above). */
export function withoutCandidates(sdp: string): string {
  return sdp.split(/\r?\n/).filter((l) => !l.startsWith('a=candidate:')).join('\r\n');
}
