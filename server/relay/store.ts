// The relay's state: robot credential hashes, invites, sessions and driver leases. Two backends
// with one interface: a JSON file in the data dir (atomic writes; leases in memory), or Redis when
// REDIS_URL is set (store-redis.ts: several relays share sessions and leases). Only hashes of
// secrets are kept.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Role } from '../../protocol/messages.ts';

export interface RobotRecord { id: string; secretHash: string; createdAt: number }
/** One trade of an invite for a session: when, from which client address, and the session it gave. */
export interface Redemption { at: number; ip: string; session: string }
/**
 * `uses`: how many redemptions it allows; absent on invites saved before invites had a limit
 * (those stay redeemable until they expire, as they were created). `redemptions`: the latest
 * REDEMPTIONS_KEPT of `redeemed` in all.
 */
export interface InviteRecord {
  id: string; hash: string; robot: string; role: Role; expiresAt: number; createdAt: number;
  uses?: number; redeemed?: number; redemptions?: Redemption[];
}
export const REDEMPTIONS_KEPT = 50;
export interface SessionRecord {
  id: string; tokenHash: string; robot: string; role: Role; inviteId: string; expiresAt: number; createdAt: number;
}
export interface LeaseRecord { client: string; name: string | null; since: number }

/**
 * What outlives a restart, and so what a backup holds (backup.ts): robots, invites and sessions.
 * Leases are not in it: they last seconds and belong to the sockets of the relay that granted them.
 */
export interface StoreState { robots: RobotRecord[]; invites: InviteRecord[]; sessions: SessionRecord[] }

export interface Store {
  getRobot(id: string): Promise<RobotRecord | null>;
  putRobot(r: RobotRecord): Promise<void>;
  getInvite(hash: string): Promise<InviteRecord | null>;
  getInviteById(id: string): Promise<InviteRecord | null>;
  putInvite(r: InviteRecord): Promise<void>;
  deleteInvite(id: string): Promise<void>;
  listInvites(): Promise<InviteRecord[]>;
  /**
   * Records a redemption if the invite has a use left, in one step (two racing redemptions of a
   * single-use invite cannot both win): the updated invite, 'used', or null when it is gone.
   */
  claimInvite(id: string, r: Redemption): Promise<InviteRecord | 'used' | null>;
  getSession(id: string): Promise<SessionRecord | null>;
  getSessionByToken(hash: string): Promise<SessionRecord | null>;
  /** Stores a session; when it had another token hash before, that token stops working. */
  putSession(s: SessionRecord, oldTokenHash?: string): Promise<void>;
  deleteSession(id: string): Promise<void>;
  leaseGet(robot: string): Promise<LeaseRecord | null>;
  /** Takes the lease when free or already held by the same client. */
  leaseTake(robot: string, rec: LeaseRecord, ttlMs: number): Promise<boolean>;
  leaseRenew(robot: string, client: string, ttlMs: number): Promise<boolean>;
  leaseRelease(robot: string, client: string): Promise<boolean>;
  /**
   * Every robot, unexpired invite and unexpired session as of one instant: never half of a write
   * that a running relay makes meanwhile.
   */
  snapshot(): Promise<StoreState>;
  /**
   * Replaces robots, invites and sessions with `state` in one step (readers see the old state or
   * the new). Unless `force`, only into an empty store: 'not_empty' (nothing changed) otherwise.
   */
  replaceAll(state: StoreState, force: boolean): Promise<'replaced' | 'not_empty'>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const isEmptyState = (s: StoreState): boolean => s.robots.length === 0 && s.invites.length === 0 && s.sessions.length === 0;

interface FileState {
  robots: Record<string, RobotRecord>;
  invites: Record<string, InviteRecord>;
  sessions: Record<string, SessionRecord>;
}

export class FileStore implements Store {
  private state: FileState = { robots: {}, invites: {}, sessions: {} };
  private readonly file: string;
  private readonly leases = new Map<string, { rec: LeaseRecord; expiresAt: number }>();

  /** `now`: the clock of lease expiry and of pruning expired records (tests pass a fake one). */
  constructor(dataDir: string, private readonly now: () => number = () => Date.now()) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.file = join(dataDir, 'relay-state.json');
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<FileState>;
      this.state = { robots: parsed.robots ?? {}, invites: parsed.invites ?? {}, sessions: parsed.sessions ?? {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${this.file}: ${(err as Error).message}`);
    }
  }

  /** mtime and size of the file as last read or written, so reload() re-parses only real changes. */
  private seen = '';
  private statted = false;
  /** Sessions by token hash (a handshake looks its token up): rebuilt after any change. */
  private byToken: Map<string, SessionRecord> | null = null;

  /**
   * Re-reads the file when someone else changed it: the CLI (`invite`, `register`) writes it while
   * a relay runs. Parsing it on every read blocked the event loop (every connected session is
   * re-checked each second): a stat is cheap, a parse of hundreds of sessions is not.
   */
  private reload(fresh = false): void {
    // Reads stat once per turn of the event loop: the hub re-checks every connected session each
    // second in one synchronous burst, and a file changed mid-burst is seen on the next turn anyway.
    // Writes (`fresh`) always stat, so a record the CLI just wrote is never saved over.
    if (this.statted && !fresh) return;
    if (!this.statted) { this.statted = true; setImmediate(() => { this.statted = false; }); }
    try {
      const st = statSync(this.file);
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp === this.seen) return;
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<FileState>;
      this.state = { robots: parsed.robots ?? {}, invites: parsed.invites ?? {}, sessions: parsed.sessions ?? {} };
      this.byToken = null;
      this.seen = stamp;
    } catch { /* keep what we have */ }
  }

  private remember(): void {
    try {
      const st = statSync(this.file);
      this.seen = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch { this.seen = ''; }
  }

  private save(): void {
    const now = this.now();
    for (const [k, v] of Object.entries(this.state.invites)) if (v.expiresAt < now) delete this.state.invites[k];
    for (const [k, v] of Object.entries(this.state.sessions)) if (v.expiresAt < now) delete this.state.sessions[k];
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1), { mode: 0o600 });
    renameSync(tmp, this.file); // atomic on one filesystem: readers see the old or the new file
    this.byToken = null;
    this.remember();
  }

  async getRobot(id: string) { this.reload(); return this.state.robots[id] ?? null; }
  async putRobot(r: RobotRecord) { this.reload(true); this.state.robots[r.id] = r; this.save(); }
  async getInvite(hash: string) {
    this.reload();
    return Object.values(this.state.invites).find((i) => i.hash === hash) ?? null;
  }
  async getInviteById(id: string) { this.reload(); return this.state.invites[id] ?? null; }
  async putInvite(r: InviteRecord) { this.reload(true); this.state.invites[r.id] = r; this.save(); }
  async deleteInvite(id: string) { this.reload(true); delete this.state.invites[id]; this.save(); }
  async listInvites() { this.reload(); return Object.values(this.state.invites); }
  async claimInvite(id: string, r: Redemption) {
    this.reload(true);
    const inv = this.state.invites[id];
    if (!inv) return null;
    if (inv.uses !== undefined && (inv.redeemed ?? 0) >= inv.uses) return 'used' as const;
    const next = this.state.invites[id] = { ...inv, redeemed: (inv.redeemed ?? 0) + 1, redemptions: [...(inv.redemptions ?? []), r].slice(-REDEMPTIONS_KEPT) };
    this.save();
    return next;
  }
  async getSession(id: string) { return this.state.sessions[id] ?? null; }
  async getSessionByToken(hash: string) {
    this.byToken ??= new Map(Object.values(this.state.sessions).map((s) => [s.tokenHash, s]));
    return this.byToken.get(hash) ?? null;
  }
  async putSession(s: SessionRecord) { this.reload(true); this.state.sessions[s.id] = s; this.save(); }
  async deleteSession(id: string) { this.reload(true); delete this.state.sessions[id]; this.save(); }

  async leaseGet(robot: string) {
    const l = this.leases.get(robot);
    if (!l) return null;
    if (l.expiresAt <= this.now()) { this.leases.delete(robot); return null; }
    return l.rec;
  }
  async leaseTake(robot: string, rec: LeaseRecord, ttlMs: number) {
    const cur = await this.leaseGet(robot);
    if (cur && cur.client !== rec.client) return false;
    this.leases.set(robot, { rec: cur ?? rec, expiresAt: this.now() + ttlMs });
    return true;
  }
  async leaseRenew(robot: string, client: string, ttlMs: number) {
    const cur = this.leases.get(robot);
    if (!cur || cur.rec.client !== client || cur.expiresAt <= this.now()) return false;
    cur.expiresAt = this.now() + ttlMs;
    return true;
  }
  async leaseRelease(robot: string, client: string) {
    const cur = await this.leaseGet(robot);
    if (!cur || cur.client !== client) return false;
    this.leases.delete(robot);
    return true;
  }
  /**
   * Read from the file, not from memory: the file is only ever replaced whole (save()'s rename), so
   * one read sees one complete state, whichever process wrote it last.
   */
  async snapshot(): Promise<StoreState> {
    let parsed: Partial<FileState> = {};
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<FileState>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${this.file}: ${(err as Error).message}`);
    }
    const now = this.now();
    return {
      robots: Object.values(parsed.robots ?? {}),
      invites: Object.values(parsed.invites ?? {}).filter((i) => i.expiresAt >= now),
      sessions: Object.values(parsed.sessions ?? {}).filter((x) => x.expiresAt >= now),
    };
  }

  async replaceAll(state: StoreState, force: boolean) {
    if (!force && !isEmptyState(await this.snapshot())) return 'not_empty' as const;
    this.state = {
      robots: Object.fromEntries(state.robots.map((r) => [r.id, r])),
      invites: Object.fromEntries(state.invites.map((i) => [i.id, i])),
      sessions: Object.fromEntries(state.sessions.map((x) => [x.id, x])),
    };
    this.save();
    return 'replaced' as const;
  }

  async ping() {}
  async close() {}
}

// The Redis backend lives in its own file; callers keep importing both from here.
export { RedisStore } from './store-redis.ts';
