// The hub's side of the bus (bus.ts): a frame for a robot or clients that are not on this relay
// goes over the bus, what other relays publish is delivered to this relay's sockets, and this
// relay keeps its claim to host its robots fresh and learns which robots are online elsewhere.
// It also holds this relay's clients' ids on every relay (a claim per id, renewed each second and
// given up when the socket has gone), so no session can connect with another session's id.
import type { ConnLife } from '../../common/socket-life.ts';
import type { RobotMessage } from '../../protocol/messages.ts';
import { RelayCloseCode, type RelayToClientMessage, type RelayToRobotMessage } from '../../protocol/relay.ts';
import type { Bus, BusEvent, ClientClaim } from './bus.ts';
import { joinFrame, type Connections, type RobotConn } from './connection.ts';
import type { Delivery } from './delivery.ts';
import type { Lease } from './lease.ts';
import type { RelayLimits } from './limits.ts';
import type { Metrics } from './metrics.ts';
import type { Traffic } from './traffic.ts';

export class BusHookup {
  /** Robots that other relays reported online (learned from presence frames on the bus). */
  private readonly remoteOnline = new Set<string>();
  /** Client ids claimed by this relay's sockets (key: robot and client id). */
  private readonly claims = new Map<string, ClientClaim>();

  constructor(
    private readonly bus: Bus,
    private readonly conns: Connections,
    private readonly delivery: Delivery,
    private readonly traffic: Traffic,
    private readonly limits: RelayLimits,
    private readonly metrics: Metrics,
  ) {}

  /** Starts delivering what other relays publish (the lease is built after the hookup, hence here). */
  listen(lease: Lease): void {
    this.bus.onEvent((ev) => this.onEvent(ev, lease));
  }

  publish(ev: BusEvent): void { this.bus.publish(ev); }

  /** `text`: the frame already serialized (must be `frame`'s JSON). */
  sendRobot(conn: RobotConn, frame: RelayToRobotMessage, text?: string): boolean {
    this.traffic.counted('relay_to_robot', frame.type);
    return this.delivery.send(conn, text ?? frame);
  }

  /** To the robot, here or on another relay. False when it is known to be nowhere. */
  toRobot(robot: string, frame: RelayToRobotMessage): boolean {
    const here = this.conns.robots.get(robot);
    if (here) return this.sendRobot(here, frame);
    this.bus.publish({ kind: 'toRobot', robot, frame, at: Date.now() });
    return this.remoteOnline.has(robot);
  }

  toClients(robot: string, client: string | null, frame: RobotMessage | RelayToClientMessage, publish = true): void {
    const room = this.conns.clients.get(robot);
    const text = JSON.stringify(frame);
    if (client) {
      const c = room?.get(client);
      if (c) { this.delivery.send(c, text); return; }
    } else {
      for (const c of room?.values() ?? []) this.delivery.send(c, text);
    }
    if (publish) this.bus.publish({ kind: 'toClients', robot, client, frame });
  }

  private onEvent(ev: BusEvent, lease: Lease): void {
    switch (ev.kind) {
      case 'toRobot': {
        const here = this.conns.robots.get(ev.robot);
        if (here) {
          this.sendRobot(here, ev.frame);
          this.metrics.latency.observe({ direction: 'relay_to_relay' }, Math.max(0, Date.now() - ev.at) / 1000);
        }
        return;
      }
      case 'toClients':
        if (ev.frame.type === 'robot') ev.frame.online ? this.remoteOnline.add(ev.robot) : this.remoteOnline.delete(ev.robot);
        return this.toClients(ev.robot, ev.client, ev.frame, false);
      case 'lease':
        return lease.fromOtherRelay(ev.robot, ev);
      case 'resync': {
        this.remoteOnline.add(ev.robot);
        for (const c of this.conns.room(ev.robot)) this.toRobot(ev.robot, joinFrame(c));
        return;
      }
    }
  }

  hosting(robot: string, hosted: boolean): void {
    void this.bus.setHosted(robot, hosted, hosted ? this.limits.hostTtlMs : 0).catch(() => {});
  }

  /** Is the robot connected to another relay (false when Redis cannot say)? */
  hostedElsewhere(robot: string): Promise<boolean> { return this.bus.hostedElsewhere(robot).catch(() => false); }

  noteOnlineElsewhere(robot: string): void { this.remoteOnline.add(robot); }

  /**
   * Claims a joining client's id for its session on every relay. Held by another session: its
   * socket is closed (clientIdTaken) before it is welcomed. Redis cannot say: closed with 1013
   * (try again later) — without the check, another relay's session could be using that id.
   */
  async claimClient(robot: string, client: string, session: string, life: ConnLife): Promise<void> {
    const claim = { robot, client, session };
    const held = await this.bus.claimClient(robot, client, session, this.limits.hostTtlMs).catch(() => null);
    if (held) { this.claims.set(`${robot}\n${client}`, claim); return; }
    if (held === false) life.close(RelayCloseCode.clientIdTaken, 'client id in use by another session');
    else life.close(1013, 'cannot check the client id now, try again');
  }

  /** Renews the claims of the clients still here, gives up the others'. */
  private async keepClaims(): Promise<void> {
    const live: ClientClaim[] = [];
    for (const [key, c] of this.claims) {
      if (this.conns.client(c.robot, c.client)?.session.id === c.session) { live.push(c); continue; }
      this.claims.delete(key);
      await this.bus.releaseClient(c).catch(() => { /* it lapses after hostTtlMs */ });
    }
    // Lost while Redis forgot it (restart) and another session claimed it: two sockets, one id.
    for (const c of await this.bus.renewClaims(live, this.limits.hostTtlMs).catch(() => [])) {
      this.claims.delete(`${c.robot}\n${c.client}`);
      this.conns.client(c.robot, c.client)?.life.close(RelayCloseCode.clientIdTaken, 'client id in use by another session');
    }
  }

  /**
   * Once a second: renews this relay's claim to its robots. A relay that died without saying so:
   * its robots' host keys lapse, and our clients are told.
   */
  async refresh(): Promise<void> {
    for (const robot of this.conns.robots.keys()) this.hosting(robot, true);
    await this.keepClaims();
    for (const robot of [...this.remoteOnline]) {
      if (this.conns.robots.has(robot) || (await this.bus.hostedElsewhere(robot).catch(() => true))) continue;
      this.remoteOnline.delete(robot);
      this.toClients(robot, null, { v: 1, type: 'robot', robot, online: false }, false);
    }
  }
}
