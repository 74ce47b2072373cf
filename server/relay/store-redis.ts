// The relay's state in Redis (REDIS_URL), so several relays share robots, invites, sessions and
// leases: one key per record with the record's own expiry, a key from each secret's hash to its
// record, and Lua scripts for what must be one step (lease take/renew/release, an invite's use).
import { Redis } from 'ioredis';
import { REDEMPTIONS_KEPT, type InviteRecord, type LeaseRecord, type Redemption, type RobotRecord, type SessionRecord, type Store } from './store.ts';

const K = 'havatar:';
const RENEW = `if redis.call('GET', KEYS[1]) and cjson.decode(redis.call('GET', KEYS[1])).client == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) and cjson.decode(redis.call('GET', KEYS[1])).client == ARGV[1] then
  return redis.call('DEL', KEYS[1]) else return 0 end`;
const TAKE = `local cur = redis.call('GET', KEYS[1])
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) return 1 end
if cjson.decode(cur).client == ARGV[2] then redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1 end
return 0`;
// An invite's use, claimed atomically: nil (gone), 'used', or the updated record (TTL kept).
const CLAIM = `local cur = redis.call('GET', KEYS[1])
if not cur then return nil end
local inv = cjson.decode(cur)
local n = inv.redeemed or 0
if inv.uses and n >= inv.uses then return 'used' end
inv.redeemed = n + 1
local list = inv.redemptions or {}
table.insert(list, cjson.decode(ARGV[1]))
while #list > tonumber(ARGV[2]) do table.remove(list, 1) end
inv.redemptions = list
redis.call('SET', KEYS[1], cjson.encode(inv), 'KEEPTTL')
return cjson.encode(inv)`;

export class RedisStore implements Store {
  readonly redis: Redis;
  constructor(url: string) {
    // Fail fast instead of queueing commands forever while Redis is down: /health reports it.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.redis.on('error', () => { /* reported by ping() → /health, and logged by the bus */ });
  }
  private async getJson<T>(key: string): Promise<T | null> {
    const s = await this.redis.get(K + key);
    return s ? (JSON.parse(s) as T) : null;
  }
  private ttl(expiresAt: number): number { return Math.max(1, expiresAt - Date.now()); }

  getRobot(id: string) { return this.getJson<RobotRecord>(`robot:${id}`); }
  async putRobot(r: RobotRecord) { await this.redis.set(`${K}robot:${r.id}`, JSON.stringify(r)); }
  async getInvite(hash: string) {
    const id = await this.redis.get(`${K}invite-hash:${hash}`);
    return id ? this.getInviteById(id) : null;
  }
  getInviteById(id: string) { return this.getJson<InviteRecord>(`invite:${id}`); }
  async putInvite(r: InviteRecord) {
    await this.redis.multi()
      .set(`${K}invite:${r.id}`, JSON.stringify(r), 'PX', this.ttl(r.expiresAt))
      .set(`${K}invite-hash:${r.hash}`, r.id, 'PX', this.ttl(r.expiresAt))
      .exec();
  }
  async deleteInvite(id: string) {
    const r = await this.getInviteById(id);
    if (r) await this.redis.del(`${K}invite:${id}`, `${K}invite-hash:${r.hash}`);
  }
  async listInvites() {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${K}invite:*`, 'COUNT', 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const values = keys.length ? await this.redis.mget(keys) : [];
    return values.filter((v): v is string => !!v).map((v) => JSON.parse(v) as InviteRecord);
  }
  async claimInvite(id: string, r: Redemption) {
    const out = (await this.redis.eval(CLAIM, 1, `${K}invite:${id}`, JSON.stringify(r), String(REDEMPTIONS_KEPT))) as string | null;
    return out === null ? null : out === 'used' ? 'used' as const : (JSON.parse(out) as InviteRecord);
  }
  getSession(id: string) { return this.getJson<SessionRecord>(`session:${id}`); }
  async getSessionByToken(hash: string) {
    const id = await this.redis.get(`${K}token:${hash}`);
    return id ? this.getSession(id) : null;
  }
  async putSession(s: SessionRecord, oldTokenHash?: string) {
    const m = this.redis.multi()
      .set(`${K}session:${s.id}`, JSON.stringify(s), 'PX', this.ttl(s.expiresAt))
      .set(`${K}token:${s.tokenHash}`, s.id, 'PX', this.ttl(s.expiresAt));
    if (oldTokenHash && oldTokenHash !== s.tokenHash) m.del(`${K}token:${oldTokenHash}`);
    await m.exec();
  }
  async deleteSession(id: string) {
    const s = await this.getSession(id);
    if (s) await this.redis.del(`${K}session:${id}`, `${K}token:${s.tokenHash}`);
  }
  leaseGet(robot: string) { return this.getJson<LeaseRecord>(`lease:${robot}`); }
  async leaseTake(robot: string, rec: LeaseRecord, ttlMs: number) {
    return (await this.redis.eval(TAKE, 1, `${K}lease:${robot}`, JSON.stringify(rec), rec.client, String(ttlMs))) === 1;
  }
  async leaseRenew(robot: string, client: string, ttlMs: number) {
    return (await this.redis.eval(RENEW, 1, `${K}lease:${robot}`, client, String(ttlMs))) === 1;
  }
  async leaseRelease(robot: string, client: string) {
    return (await this.redis.eval(RELEASE, 1, `${K}lease:${robot}`, client)) === 1;
  }
  async ping() { await this.redis.ping(); }
  async close() { this.redis.disconnect(); }
}
