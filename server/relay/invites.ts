// Invites and the sessions they are traded for: an invite (hi_…) names a robot and a role until it
// expires or is revoked; redeeming it issues a short-lived session token (hs_…) that can be
// refreshed while its invite stands. An invite is single-use unless made for more (`uses`): a
// leaked link is no way in once its operator has used it, and every redemption (when, from which
// address, which session) is kept for the admin. Tokens are random (>= 192 bits) and only their
// SHA-256 hashes are stored. access.ts asks this module whether a session token stands.
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../../protocol/messages.ts';
import { ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import type { Logger } from '../../common/log.ts';
import { HttpError } from './http.ts';
import type { RelayLimits } from './limits.ts';
import type { InviteRecord, Redemption, SessionRecord, Store } from './store.ts';

export const hashSecret = (s: string): string => createHash('sha256').update(s).digest('hex');
export const newSecret = (bytes = 24): string => randomBytes(bytes).toString('base64url');

export interface Invite { id: string; token: string; robot: string; role: Role; expiresAt: number; uses: number }
/** An invite as the admin API shows it: never its token or hash. `uses` null: saved before invites had a limit. */
export interface InviteInfo {
  id: string; robot: string; role: Role; createdAt: number; expiresAt: number;
  uses: number | null; redeemed: number; redemptions: Redemption[];
}

export const MAX_USES = 1000;
const USES_RULE = `uses must be a whole number from 1 to ${MAX_USES}`;

/** `uses` as given (API body, CLI flag): a whole number 1..MAX_USES; bad input is a 400 naming the rule. */
export function parseUses(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_USES) throw new HttpError(400, 'bad_message', USES_RULE);
  return n;
}
export interface IssuedSession { token: string; session: SessionRecord }

export class Invites {
  constructor(
    private readonly store: Store,
    private readonly limits: RelayLimits,
    private readonly log: Logger,
    /** The clock of every expiry (tests pass a fake one). */
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** `uses`: how many redemptions it allows, 1 unless given (see parseUses). */
  async createInvite(robot: string, role: Role, ttlMs: number, uses: unknown = 1): Promise<Invite> {
    if (!ROBOT_ID_PATTERN.test(robot)) throw new Error('robot id must be 1-64 of A-Z a-z 0-9 _ -');
    if (!(ttlMs > 0 && ttlMs <= this.limits.maxInviteTtlMs)) throw new Error(`ttl must be between 1 ms and ${this.limits.maxInviteTtlMs} ms`);
    const n = parseUses(uses);
    const token = `hi_${newSecret()}`;
    const id = newSecret(9);
    const expiresAt = this.now() + ttlMs;
    await this.store.putInvite({ id, hash: hashSecret(token), robot, role, expiresAt, createdAt: this.now(), uses: n, redeemed: 0, redemptions: [] });
    this.log.info('invite created', { invite: id, robot, role, expiresAt, uses: n });
    return { id, token, robot, role, expiresAt, uses: n };
  }

  /**
   * An invite made by a driver's session (the app's "add a phone or a viewer"): single-use, and
   * never outliving the invite behind that session, so revoking or letting that one expire is not
   * undone by the invites it made. null when that invite is gone.
   */
  async inviteFromSession(by: SessionRecord, role: Role, ttlMs: number): Promise<Invite | null> {
    const parent = await this.store.getInviteById(by.inviteId);
    const until = Math.min(this.now() + ttlMs, parent?.expiresAt ?? 0);
    if (!parent || until <= this.now()) return null;
    const inv = await this.createInvite(by.robot, role, until - this.now(), 1);
    this.log.info('invite made by a driver session', { invite: inv.id, session: by.id, parent: parent.id });
    return inv;
  }

  /** Every invite that has not expired, for the admin. */
  async list(): Promise<InviteInfo[]> {
    const now = this.now();
    return (await this.store.listInvites()).filter((i) => i.expiresAt > now).sort((a, b) => a.createdAt - b.createdAt).map(info);
  }

  /** Says once, at start, how many saved invites predate the limit (they keep working as created). */
  async noteUnlimited(): Promise<void> {
    const old = (await this.list()).filter((i) => i.uses === null);
    if (old.length) this.log.info('invites from before single-use invites: each stays redeemable until it expires, as created', { count: old.length, lastExpiresAt: Math.max(...old.map((i) => i.expiresAt)) });
  }

  async revokeInvite(id: string): Promise<void> { await this.store.deleteInvite(id); }

  /**
   * Trades an invite for a short-lived session token, recording the redemption (`ip`: the client
   * address as the relay sees it); null when the invite is unknown or expired. An invite with no
   * use left throws a 410 `invite_used` that the app shows as it is.
   */
  async redeemInvite(inviteToken: string, ip = 'unknown'): Promise<IssuedSession | null> {
    const found = await this.store.getInvite(hashSecret(inviteToken));
    if (!found || found.expiresAt <= this.now()) return null;
    const token = `hs_${newSecret(32)}`;
    const now = this.now();
    const id = newSecret(9);
    const inv = await this.store.claimInvite(found.id, { at: now, ip, session: id });
    if (!inv) return null;
    if (inv === 'used') {
      this.log.info('used invite refused', { invite: found.id, ip });
      const last = found.redemptions?.at(-1)?.at;
      throw new HttpError(410, 'invite_used', `This invite link has already been used${last ? ` (${new Date(last).toISOString()})` : ''}. Each link works once: ask the person who sent it for a new one.`);
    }
    if (inv.uses === undefined) this.log.info('invite from before single-use invites redeemed: it stays redeemable until it expires', { invite: inv.id, redeemed: inv.redeemed });
    const session: SessionRecord = {
      id, tokenHash: hashSecret(token), robot: inv.robot, role: inv.role, inviteId: inv.id,
      expiresAt: Math.min(now + this.limits.sessionTtlMs, inv.expiresAt), createdAt: now,
    };
    await this.store.putSession(session);
    this.log.info('session issued', { session: session.id, robot: session.robot, role: session.role, invite: inv.id, ip });
    return { token, session };
  }

  /** The live session a token names, or null (unknown, expired, or its invite revoked). */
  async verifySession(token: string): Promise<SessionRecord | null> {
    if (!token.startsWith('hs_')) return null;
    const s = await this.store.getSessionByToken(hashSecret(token));
    return this.standing(s);
  }

  /** A session stands while it has not expired and its invite has not been revoked. */
  private async standing(s: SessionRecord | null): Promise<SessionRecord | null> {
    if (!s || s.expiresAt <= this.now()) return null;
    return (await this.store.getInviteById(s.inviteId)) ? s : null;
  }

  /** Is a session (by id) still live? Connected sockets are re-checked with this. */
  async sessionLive(id: string): Promise<SessionRecord | null> {
    return this.standing(await this.store.getSession(id));
  }

  /** A new token for the same session (the old one stops working), while its invite still stands. */
  async refreshSession(session: SessionRecord): Promise<IssuedSession | null> {
    const inv = await this.store.getInviteById(session.inviteId);
    if (!inv || inv.expiresAt <= this.now()) return null;
    const token = `hs_${newSecret(32)}`;
    const next = { ...session, tokenHash: hashSecret(token), expiresAt: Math.min(this.now() + this.limits.sessionTtlMs, inv.expiresAt) };
    await this.store.putSession(next, session.tokenHash);
    return { token, session: next };
  }

  async revokeSession(id: string): Promise<void> {
    await this.store.deleteSession(id);
    this.log.info('session revoked', { session: id });
  }
}

const info = (i: InviteRecord): InviteInfo => ({
  id: i.id, robot: i.robot, role: i.role, createdAt: i.createdAt, expiresAt: i.expiresAt,
  uses: i.uses ?? null, redeemed: i.redeemed ?? 0, redemptions: i.redemptions ?? [],
});
