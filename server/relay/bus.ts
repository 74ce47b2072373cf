// Between relays: with REDIS_URL every relay publishes what it cannot deliver itself on one Redis
// channel and delivers what others publish to its own sockets; which relay hosts a robot is a Redis
// key with a short expiry. Without Redis the LocalBus has nobody to talk to.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RobotMessage } from '../../protocol/messages.ts';
import type { RelayToClientMessage, RelayToRobotMessage } from '../../protocol/relay.ts';

export type BusEvent =
  /** A frame for a robot that is connected to another relay. `at`: sender's Date.now(). */
  | { kind: 'toRobot'; robot: string; frame: RelayToRobotMessage; at: number }
  /** A frame for one client (`client`) or all clients (null) of a robot, wherever they are. */
  | { kind: 'toClients'; robot: string; client: string | null; frame: RobotMessage | RelayToClientMessage }
  /** The lease changed: every relay tells its clients, the robot's relay tells the robot. */
  | { kind: 'lease'; robot: string; driver: string | null; name: string | null; requestedBy: string | null; requestedName: string | null }
  /** A robot (re)connected: relays re-announce their clients to it. */
  | { kind: 'resync'; robot: string };

export interface Bus {
  readonly id: string;
  publish(ev: BusEvent): void;
  onEvent(handler: (ev: BusEvent) => void): void;
  /** Marks a robot as hosted here (refresh within ttlMs) or gone. */
  setHosted(robot: string, hosted: boolean, ttlMs: number): Promise<void>;
  /** Is the robot connected to some other relay? */
  hostedElsewhere(robot: string): Promise<boolean>;
  /**
   * Claims a client id for a session on every relay for ttlMs: true when it was free or already
   * that session's. A client id is how the lease and the robot tell operators apart, so one
   * session's id must never be another's, wherever each is connected.
   */
  claimClient(robot: string, client: string, session: string, ttlMs: number): Promise<boolean>;
  /** Renews claims held here; returns the ones another session holds now (to be closed). */
  renewClaims(claims: ClientClaim[], ttlMs: number): Promise<ClientClaim[]>;
  /** Gives up a claim (only if it is still this session's). */
  releaseClient(claim: ClientClaim): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ClientClaim { robot: string; client: string; session: string }

/** Alone, this relay's own map of sockets (connection.ts) already keeps client ids apart. */
export class LocalBus implements Bus {
  readonly id = randomBytes(6).toString('hex');
  publish(): void {}
  onEvent(): void {}
  async setHosted(): Promise<void> {}
  async hostedElsewhere(): Promise<boolean> { return false; }
  async claimClient(): Promise<boolean> { return true; }
  async renewClaims(): Promise<ClientClaim[]> { return []; }
  async releaseClient(): Promise<void> {}
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

const CHANNEL = 'havatar:bus';
const claimKey = (c: { robot: string; client: string }) => `havatar:client:${c.robot}:${c.client}`;
/** Set when free or already ARGV[1]'s; 1 when the claim is held. */
const CLAIM = `local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;
/** Renews each key for its session (ARGV[i + 1]); returns the indexes (1-based) held by another. */
const RENEW = `local lost = {}
for i, k in ipairs(KEYS) do
  local cur = redis.call('GET', k)
  if cur and cur ~= ARGV[i + 1] then table.insert(lost, i)
  else redis.call('SET', k, ARGV[i + 1], 'PX', ARGV[1]) end
end
return lost`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

/** Redis refusing a missing or wrong password, with where the fix goes (its own text says neither). */
export function explainRedisError(err: Error): Error {
  if (!/NOAUTH|WRONGPASS|invalid password|without any password configured/i.test(err.message)) return err;
  return new Error(`${err.message} (REDIS_URL lacks Redis's password or has a wrong one: redis://:<REDIS_PASSWORD>@host:port)`);
}

export class RedisBus implements Bus {
  readonly id = randomBytes(6).toString('hex');
  private readonly pub: Redis;
  private readonly sub: Redis;
  private handler: (ev: BusEvent) => void = () => {};

  constructor(url: string, onError: (err: Error) => void) {
    this.pub = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.sub = new Redis(url, { maxRetriesPerRequest: null });
    this.pub.on('error', (err: Error) => onError(explainRedisError(err)));
    this.sub.on('error', (err: Error) => onError(explainRedisError(err)));
    this.sub.on('message', (_ch: string, raw: string) => {
      let wrapped: { from: string; ev: BusEvent };
      try { wrapped = JSON.parse(raw) as { from: string; ev: BusEvent }; } catch { return; }
      if (wrapped.from !== this.id) this.handler(wrapped.ev);
    });
  }
  /** Resolves once the subscription is live (events published before that would be missed). */
  async start(): Promise<void> { await this.sub.subscribe(CHANNEL); }
  publish(ev: BusEvent): void {
    this.pub.publish(CHANNEL, JSON.stringify({ from: this.id, ev })).catch(() => { /* Redis down: /health says so */ });
  }
  onEvent(handler: (ev: BusEvent) => void): void { this.handler = handler; }
  async setHosted(robot: string, hosted: boolean, ttlMs: number): Promise<void> {
    const key = `havatar:host:${robot}`;
    if (hosted) await this.pub.set(key, this.id, 'PX', ttlMs);
    else if ((await this.pub.get(key)) === this.id) await this.pub.del(key);
  }
  async hostedElsewhere(robot: string): Promise<boolean> {
    const host = await this.pub.get(`havatar:host:${robot}`);
    return !!host && host !== this.id;
  }
  async claimClient(robot: string, client: string, session: string, ttlMs: number): Promise<boolean> {
    return (await this.pub.eval(CLAIM, 1, claimKey({ robot, client }), session, String(ttlMs))) === 1;
  }
  async renewClaims(claims: ClientClaim[], ttlMs: number): Promise<ClientClaim[]> {
    if (!claims.length) return [];
    const lost = (await this.pub.eval(RENEW, claims.length, ...claims.map(claimKey), String(ttlMs), ...claims.map((c) => c.session))) as number[];
    return lost.map((i) => claims[i - 1]!);
  }
  async releaseClient(claim: ClientClaim): Promise<void> {
    await this.pub.eval(RELEASE, 1, claimKey(claim), claim.session);
  }
  async ping(): Promise<void> { await this.pub.ping(); }
  async close(): Promise<void> { this.pub.disconnect(); this.sub.disconnect(); }
}
