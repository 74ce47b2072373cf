// The operators connected through the relay, each a Peer (relay-peer.ts) handled by the SAME
// handlers as a local session, and the relay's driver. The relay's frames about them land here:
// `client` join/leave, `driver` (the relay moved its lease), `forward` (a client's message).
//
// ONE LEASE AUTHORITY, the bridge's lease: the relay's driver is a candidate that takes it when it
// is free (at once, or as soon as a local driver releases); a relay peer holding it for a former
// relay driver lets go. A client that leaves, and every client when the link drops, is gone like
// a closed local socket: if it was driving, the robot stops.

import type { RelayToRobotMessage } from '../../protocol/relay.ts';
import type { Lease } from '../safety/lease.ts';
import type { WsGateway } from '../ws/gateway.ts';
import type { RelayLink } from './relay-link.ts';
import { RelayPeer } from './relay-peer.ts';
import type { ServerTalk } from './server-talk.ts';

type Frame<T extends RelayToRobotMessage['type']> = Extract<RelayToRobotMessage, { type: T }>;

export interface RelayClientsDeps {
  link: RelayLink;
  lease: Lease;
  gateway: WsGateway;
  talk: ServerTalk;
}

export class RelayClients {
  private readonly peers = new Map<string, RelayPeer>();
  /** The relay's client id of its driver, a candidate for the bridge lease. */
  private relayDriver: string | null = null;

  constructor(private readonly deps: RelayClientsDeps) {}

  get size(): number { return this.peers.size; }

  async onFrame(f: RelayToRobotMessage, arrivedAt: number): Promise<void> {
    switch (f.type) {
      case 'client':
        return f.event === 'join' ? this.joined(f) : this.left(f.client);
      case 'driver':
        return this.driverMoved(f);
      case 'publish_credential':
      case 'recording':
      case 'rtc_answer':
        return; // the run keeps these (server-run.ts: the media path, /system_status, the drive channel), before frames reach here
      case 'forward': {
        const m = f.msg;
        // hello and lease belong to the relay (it owns the remote lease); never act on them here.
        if (m.type === 'hello' || m.type === 'lease') return;
        this.deps.gateway.dispatch(this.peer(f.client, null, 'viewer'), m, arrivedAt);
        return;
      }
    }
  }

  /** The relay's driver takes the bridge lease as soon as it is free. */
  grantRelayDriver(): void {
    if (!this.relayDriver || this.deps.lease.driver || !this.deps.link.isUp) return;
    const p = this.peers.get(this.relayDriver);
    if (p) this.deps.lease.take(p.id, p.name);
  }

  /** Every client is gone at once (the link dropped, or server mode stops). */
  async dropAll(): Promise<void> {
    const peers = [...this.peers.values()];
    this.peers.clear();
    this.relayDriver = null;
    for (const p of peers) await this.deps.gateway.peerGone(p);
  }

  private joined(f: Frame<'client'>): void {
    const p = this.peer(f.client, f.name, f.role);
    if (f.name) p.name = f.name;
    p.role = f.role;
    this.deps.lease.rename(p.id, p.name);
  }

  private async left(client: string): Promise<void> {
    const p = this.peers.get(client);
    if (!p) return;
    this.peers.delete(client);
    if (this.relayDriver === client) this.relayDriver = null;
    await this.deps.gateway.peerGone(p);
  }

  private async driverMoved(f: Frame<'driver'>): Promise<void> {
    this.relayDriver = f.client;
    // The relay moved its lease: a relay peer holding the bridge lease for it lets go.
    const holder = this.deps.lease.driver;
    const holderPeer = holder ? [...this.peers.values()].find((p) => p.id === holder.session) : undefined;
    if (holderPeer && holderPeer.client !== f.client) await this.deps.gateway.release(holderPeer);
    if (!f.client) return;
    const p = this.peer(f.client, f.name, 'driver');
    if (f.name) p.name = f.name;
    const r = this.deps.lease.take(p.id, p.name);
    if (!r.ok) p.sendError('lease_held', `the robot is driven locally by session ${r.holder.session} (${r.holder.name}); you drive when they release`, undefined, r.holder.session);
  }

  private peer(client: string, name: string | null, role: 'driver' | 'viewer'): RelayPeer {
    let p = this.peers.get(client);
    if (!p) {
      const ids = new Set([...this.peers.values()].map((x) => x.id));
      let self: RelayPeer | null = null;
      p = new RelayPeer(client, name, role, this.deps.link, this.deps.talk.remote(() => self), (id) => ids.has(id));
      self = p;
      this.peers.set(client, p);
    }
    return p;
  }
}
