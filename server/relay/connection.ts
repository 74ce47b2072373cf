// The relay's connected sockets: one robot per id, and each robot's room of operator sockets. A
// new socket with a taken id replaces the old one (closed with 4011), so the maps only ever hold
// the live socket for an id; everything else in the relay looks sockets up here.
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../protocol/limits.ts';
import type { Role } from '../../protocol/messages.ts';
import type { RelayToRobotMessage } from '../../protocol/relay.ts';
import type { ConnLife } from '../../common/socket-life.ts';
import { TokenBucket } from '../../common/token-bucket.ts';
import { DEFAULT_DRIVE_LIMITS, type DriveLimits } from '../../common/welcome.ts';
import type { RelayLimits } from './limits.ts';
import type { SessionRecord } from './store.ts';

export interface Conn {
  ws: WebSocket;
  /** The TCP socket under ws (corked while a turn of the event loop writes to it). */
  raw: Duplex;
  robot: string;
  lastSeen: number;
  /** joining → open → closing → closed (common/socket-life.ts); every close the relay starts goes through it. */
  life: ConnLife;
  /** The message rate limit (rate-limit.ts), and consecutive refusals. */
  bucket: TokenBucket;
  strikes: number;
}
export interface RobotConn extends Conn {
  kind: 'robot';
  /** The robot's own drive limits, once its welcome has told them (routing.ts); null until then. */
  limits: DriveLimits | null;
  /** Which registration its password was checked against (robot-password.ts generation()). */
  generation: number | null;
}
export interface ClientConn extends Conn {
  kind: 'client';
  id: string;
  session: SessionRecord;
  role: Role;
  name: string | null;
  lastRenew: number;
}

/**
 * Where the hub reads the time: `now` (wall clock) stamps pongs, heartbeats and lease renewals,
 * `mono` (monotonic) refills the rate buckets. Tests pass one fake clock for both.
 */
export interface HubClock { now(): number; mono(): number }
export const REAL_CLOCK: HubClock = { now: () => Date.now(), mono: () => performance.now() };

export function joinFrame(c: ClientConn): RelayToRobotMessage {
  return { v: 1, type: 'client', event: 'join', client: c.id, role: c.role, name: c.name };
}

export class Connections {
  readonly robots = new Map<string, RobotConn>();
  readonly clients = new Map<string, Map<string, ClientConn>>();

  constructor(private readonly limits: RelayLimits, private readonly clock: HubClock) {}

  /** The per-socket state a new connection starts with: heard from now, a full bucket. */
  fresh() {
    return { lastSeen: this.clock.now(), bucket: new TokenBucket(this.limits.messagesPerSecond, this.limits.messageBurst, this.clock.mono()), strikes: 0 };
  }

  /**
   * The drive limits a welcome for `robot`'s operators carries: the robot's own once it has sent
   * them over its link; the protocol default while it has not (or is connected to another relay).
   */
  limitsOf(robot: string): DriveLimits {
    return this.robots.get(robot)?.limits ?? DEFAULT_DRIVE_LIMITS;
  }

  room(robot: string): Iterable<ClientConn> { return this.clients.get(robot)?.values() ?? []; }

  client(robot: string, id: string): ClientConn | undefined { return this.clients.get(robot)?.get(id); }

  clientCount(robot: string): number { return this.clients.get(robot)?.size ?? 0; }

  /** True when this client id is connected with another session (the caller refuses the upgrade). */
  clientIdTaken(robot: string, id: string, session: string): boolean {
    const c = this.client(robot, id);
    return !!c && c.session.id !== session;
  }

  putRobot(conn: RobotConn): void {
    const old = this.robots.get(conn.robot);
    if (old) { old.life.close(CloseCode.replaced, 'replaced by a new connection'); this.robots.delete(conn.robot); }
    this.robots.set(conn.robot, conn);
  }

  putClient(conn: ClientConn): void {
    let room = this.clients.get(conn.robot);
    if (!room) { room = new Map(); this.clients.set(conn.robot, room); }
    const old = room.get(conn.id);
    if (old) { old.life.close(CloseCode.replaced, 'replaced by a new connection'); room.delete(conn.id); }
    room.set(conn.id, conn);
  }

  /** False when `conn` was replaced: the new socket is the robot now, and stays. */
  dropRobot(conn: RobotConn): boolean {
    if (this.robots.get(conn.robot) !== conn) return false;
    this.robots.delete(conn.robot);
    return true;
  }

  /** False when `conn` was replaced (see dropRobot). */
  dropClient(conn: ClientConn): boolean {
    const room = this.clients.get(conn.robot);
    if (room?.get(conn.id) !== conn) return false;
    room.delete(conn.id);
    if (!room.size) this.clients.delete(conn.robot);
    return true;
  }

  all(): Conn[] {
    const all: Conn[] = [...this.robots.values()];
    for (const room of this.clients.values()) all.push(...room.values());
    return all;
  }

  roles(): { drivers: number; viewers: number } {
    let drivers = 0, viewers = 0;
    for (const room of this.clients.values()) for (const c of room.values()) c.role === 'driver' ? drivers++ : viewers++;
    return { drivers, viewers };
  }

  /**
   * Once a second: a robot registered again (new password) or removed since its socket logged in
   * is closed, on whichever relay it is connected, so a leaked old password stops working at once.
   */
  async closeReplacedRobots(standing: (robot: string, generation: number | null) => Promise<boolean>): Promise<void> {
    for (const r of [...this.robots.values()]) {
      if (!(await standing(r.robot, r.generation).catch(() => true))) r.life.close(CloseCode.unauthorized, 'robot registered again: log in with the new password');
    }
  }

  closeAll(): void {
    for (const c of this.all()) c.life.close(CloseCode.shuttingDown, 'relay shutting down');
  }
}
