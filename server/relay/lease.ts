// The driver lease toward the apps: who drives each robot, who asked next, and the hand-over when
// the driver releases, leaves or goes idle for leaseIdleMs. The store holds the truth (shared by
// every relay with Redis); this class keeps each robot's last known state, tells this relay's
// clients and robot when it changes (show) and the other relays (publish). No sockets here: the
// hub passes what it needs, and lease.unit.test.ts drives it with a store and a fake clock.
import type { Logger } from '../../common/log.ts';
import type { LeaseStateMsg, Role } from '../../protocol/messages.ts';
import type { RelayLimits } from './limits.ts';
import type { Store } from './store.ts';

export interface LeaseView { driver: string | null; name: string | null; requestedBy: string | null; requestedName: string | null }

export const NOBODY: LeaseView = { driver: null, name: null, requestedBy: null, requestedName: null };

/** A client as the lease sees it (a ClientConn is one). */
export interface Driver { readonly robot: string; readonly id: string; readonly name: string | null; readonly role: Role; lastRenew: number }

export interface LeaseDeps {
  store: Pick<Store, 'leaseGet' | 'leaseTake' | 'leaseRelease' | 'leaseRenew'>;
  limits: Pick<RelayLimits, 'leaseIdleMs'>;
  clock: { now(): number };
  log: Logger;
  /** Tells this relay's clients of `robot` the new state, and the robot when the driver changed. */
  show(robot: string, l: LeaseView, before: LeaseView): void;
  /** Tells the other relays. */
  publish(robot: string, l: LeaseView): void;
  /** The client connected to this relay with that id, if any. */
  local(robot: string, client: string): Driver | undefined;
}

export function leaseFrame(l: LeaseView, forClient: string): LeaseStateMsg {
  const f: LeaseStateMsg = { v: 1, type: 'lease', driver: l.driver, driverName: l.name, you: l.driver === forClient };
  if (l.requestedBy) f.requestedBy = l.requestedBy;
  return f;
}

export class Lease {
  private readonly leases = new Map<string, LeaseView>();

  constructor(private readonly d: LeaseDeps) {}

  /** The state last shown here (NOBODY when none). */
  known(robot: string): LeaseView { return this.leases.get(robot) ?? NOBODY; }

  isDriver(robot: string, client: string): boolean { return this.leases.get(robot)?.driver === client; }

  /** robot → driver, for the robots that have one. */
  drivers(): Record<string, string | null> {
    return Object.fromEntries([...this.leases].filter(([, l]) => l.driver).map(([r, l]) => [r, l.driver]));
  }

  /** The store's driver with the requester known here. */
  async current(robot: string): Promise<LeaseView | null> {
    const rec = await this.d.store.leaseGet(robot).catch(() => null);
    const known = this.known(robot);
    if (!rec) return { ...NOBODY, requestedBy: known.requestedBy, requestedName: known.requestedName };
    return { driver: rec.client, name: rec.name, requestedBy: known.requestedBy, requestedName: known.requestedName };
  }

  /** Applies a lease state here (clients of this relay, and the robot when it is here). */
  apply(robot: string, l: LeaseView): void {
    const before = this.known(robot);
    this.leases.set(robot, { driver: l.driver, name: l.name, requestedBy: l.requestedBy, requestedName: l.requestedName });
    if (!l.driver && !l.requestedBy) this.leases.delete(robot);
    this.d.show(robot, l, before);
    if (before.driver !== l.driver) this.d.log.info('lease', { robot, driver: l.driver });
  }

  /** Applies a lease state here and on every other relay. */
  private announce(robot: string, l: LeaseView): void {
    this.apply(robot, l);
    this.d.publish(robot, l);
  }

  /**
   * Lease news from another relay can be older than this relay's own driver: relay Y frees the
   * lease and publishes "nobody"; a client here takes it at once, and the store's yes reaches us
   * before Y's news does (pub/sub is another connection). Applied, that late news made this relay
   * forget its own driver: no stop for the robot and no release when that driver's socket closed,
   * and a lease nobody could take until it lapsed. A driver connected here loses the lease only
   * by the store's word (release here, or expiry seen by check()).
   */
  fromOtherRelay(robot: string, l: LeaseView): void {
    const mine = this.leases.get(robot)?.driver;
    if (mine && mine !== l.driver && this.d.local(robot, mine)) return;
    this.apply(robot, l);
  }

  async take(conn: Driver): Promise<'taken' | 'forbidden' | 'held'> {
    if (conn.role !== 'driver') return 'forbidden';
    const ok = await this.d.store.leaseTake(conn.robot, { client: conn.id, name: conn.name, since: this.d.clock.now() }, this.d.limits.leaseIdleMs).catch(() => false);
    if (!ok) return 'held';
    conn.lastRenew = this.d.clock.now();
    const known = this.known(conn.robot);
    const wasRequester = known.requestedBy === conn.id;
    this.announce(conn.robot, {
      driver: conn.id, name: conn.name,
      requestedBy: wasRequester ? null : known.requestedBy, requestedName: wasRequester ? null : known.requestedName,
    });
    return 'taken';
  }

  /** `take`: nobody drives, the caller takes it; `asked`: the driver is told who asked (or it is the caller). */
  request(conn: Driver): 'forbidden' | 'take' | 'asked' {
    if (conn.role !== 'driver') return 'forbidden';
    const l = this.known(conn.robot);
    if (!l.driver) return 'take';
    if (l.driver !== conn.id) this.announce(conn.robot, { ...l, requestedBy: conn.id, requestedName: conn.name });
    return 'asked';
  }

  /** A requester that leaves is no longer next. */
  withdraw(robot: string, client: string): void {
    const l = this.leases.get(robot);
    if (l?.requestedBy === client) this.announce(robot, { ...l, requestedBy: null, requestedName: null });
  }

  /** Releases (if held by `client`) and hands over to whoever asked for it. */
  async release(robot: string, client: string): Promise<void> {
    const released = await this.d.store.leaseRelease(robot, client).catch(() => false);
    if (!released && this.leases.get(robot)?.driver !== client) return;
    await this.handOff(robot);
  }

  /** After a release or expiry: the requester (if still here) becomes the driver, else nobody. */
  private async handOff(robot: string): Promise<void> {
    const l = this.known(robot);
    if (l.requestedBy) {
      const next = { client: l.requestedBy, name: l.requestedName, since: this.d.clock.now() };
      if (await this.d.store.leaseTake(robot, next, this.d.limits.leaseIdleMs).catch(() => false)) {
        const local = this.d.local(robot, next.client);
        if (local) local.lastRenew = this.d.clock.now();
        return this.announce(robot, { driver: next.client, name: next.name, requestedBy: null, requestedName: null });
      }
    }
    this.announce(robot, { ...NOBODY });
  }

  /** Keeps the lease alive while the driver drives (at most one store write per second). */
  renew(conn: Driver): void {
    const now = this.d.clock.now();
    if (now - conn.lastRenew < 1000) return;
    conn.lastRenew = now;
    void this.d.store.leaseRenew(conn.robot, conn.id, this.d.limits.leaseIdleMs).catch(() => false);
  }

  /** Once a second per robot: a lease the store let lapse is handed on; one changed elsewhere is shown. */
  async check(robot: string): Promise<void> {
    const known = this.known(robot);
    const cur = await this.current(robot);
    if (cur && known.driver && !cur.driver) {
      this.d.log.info('lease expired', { robot, driver: known.driver });
      await this.handOff(robot);
    } else if (cur && cur.driver !== known.driver) {
      this.apply(robot, cur);
    }
  }
}
