// The relay's state in Redis (REDIS_URL), so several relays share robots, invites, sessions and
// leases: one key per record with the record's own expiry, a key from each secret's hash to its
// record, and Lua scripts for what must be one step (lease take/renew/release, an invite's use).
import { Redis } from 'ioredis';
import { REDEMPTIONS_KEPT, type InviteRecord, type LeaseRecord, type Redemption, type RobotRecord, type SessionRecord, type Store, type StoreState } from './store.ts';

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

// A backup's read and a restore's write, each one script: Redis runs a script with nothing else in
// between, so a relay's concurrent write (a session, an invite's use, a registration) lands wholly
// before or wholly after. KEYS is fine here: a relay's state is hundreds of keys, not millions.
const SNAPSHOT = `local out = {}
for _, kind in ipairs({'robot:', 'invite:', 'session:'}) do
  local keys = redis.call('KEYS', ARGV[1] .. kind .. '*')
  for _, k in ipairs(keys) do
    local v = redis.call('GET', k)
    if v then table.insert(out, kind) table.insert(out, v) end
  end
end
return out`;
// ARGV: prefix, force ('1'|'0'), then (key, value, ttl ms or 0) triples. Index keys (invite-hash:,
// token:) are rebuilt from the records by the caller; leases are left alone.
const REPLACE = `local p = ARGV[1]
local old = {}
for _, kind in ipairs({'robot:', 'invite:', 'invite-hash:', 'session:', 'token:'}) do
  for _, k in ipairs(redis.call('KEYS', p .. kind .. '*')) do table.insert(old, k) end
end
if ARGV[2] ~= '1' and #old > 0 then return 'not_empty' end
for i = 1, #old, 1000 do redis.call('DEL', unpack(old, i, math.min(i + 999, #old))) end
for i = 3, #ARGV, 3 do
  local ttl = tonumber(ARGV[i + 2])
  if ttl > 0 then redis.call('SET', p .. ARGV[i], ARGV[i + 1], 'PX', ttl) else redis.call('SET', p .. ARGV[i], ARGV[i + 1]) end
end
return 'replaced'`;

export class RedisStore implements Store {
  readonly redis: Redis;
  constructor(url: string) {
    // Fail fast instead of queueing commands forever while Redis is down: /health reports it.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.redis.on('error', () => { /* reported by ping() → /health, and logged by the bus */ });
  }
  /**
   * Resolves once connected: the CLI's one-shot commands run right after construction, when the
   * relay's fail-fast options would refuse them ("Stream isn't writeable").
   */
  async connected(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.redis.off('ready', ok); reject(new Error(`cannot reach Redis (REDIS_URL) within ${timeoutMs} ms`)); }, timeoutMs);
      const ok = () => { clearTimeout(timer); resolve(); };
      this.redis.once('ready', ok);
    });
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
  async snapshot(): Promise<StoreState> {
    const flat = (await this.redis.eval(SNAPSHOT, 0, K)) as string[];
    const state: StoreState = { robots: [], invites: [], sessions: [] };
    const now = Date.now();
    for (let i = 0; i < flat.length; i += 2) {
      const kind = flat[i];
      const rec = JSON.parse(flat[i + 1]!) as RobotRecord & InviteRecord & SessionRecord;
      if (kind === 'robot:') state.robots.push(rec);
      else if (rec.expiresAt >= now) (kind === 'invite:' ? state.invites : state.sessions).push(rec);
    }
    return state;
  }
  async replaceAll(state: StoreState, force: boolean) {
    const args: string[] = [];
    const add = (key: string, value: string, ttl: number) => args.push(key, value, String(ttl));
    for (const r of state.robots) add(`robot:${r.id}`, JSON.stringify(r), 0);
    // Records already expired are left out: a TTL must be positive, and they would be refused anyway.
    for (const i of state.invites) if (i.expiresAt > Date.now()) { add(`invite:${i.id}`, JSON.stringify(i), this.ttl(i.expiresAt)); add(`invite-hash:${i.hash}`, i.id, this.ttl(i.expiresAt)); }
    for (const x of state.sessions) if (x.expiresAt > Date.now()) { add(`session:${x.id}`, JSON.stringify(x), this.ttl(x.expiresAt)); add(`token:${x.tokenHash}`, x.id, this.ttl(x.expiresAt)); }
    return (await this.redis.eval(REPLACE, 0, K, force ? '1' : '0', ...args)) as 'replaced' | 'not_empty';
  }
  async ping() { await this.redis.ping(); }
  async close() { this.redis.disconnect(); }
}
