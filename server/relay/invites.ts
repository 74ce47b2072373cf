// Invites and the sessions they are traded for: an invite (hi_…) names a robot and a role until it
// expires or is revoked; redeeming it issues a short-lived session token (hs_…) that can be
// refreshed while its invite stands. Tokens are random (>= 192 bits) and only their SHA-256 hashes
// are stored. access.ts asks this module whether a session token stands.
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../../protocol/messages.ts';
import { ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import type { Logger } from '../../common/log.ts';
import type { RelayLimits } from './limits.ts';
import type { SessionRecord, Store } from './store.ts';

export const hashSecret = (s: string): string => createHash('sha256').update(s).digest('hex');
export const newSecret = (bytes = 24): string => randomBytes(bytes).toString('base64url');

export interface Invite { id: string; token: string; robot: string; role: Role; expiresAt: number }
export interface IssuedSession { token: string; session: SessionRecord }

export class Invites {
  constructor(
    private readonly store: Store,
    private readonly limits: RelayLimits,
    private readonly log: Logger,
    /** The clock of every expiry (tests pass a fake one). */
    private readonly now: () => number = () => Date.now(),
  ) {}

  async createInvite(robot: string, role: Role, ttlMs: number): Promise<Invite> {
    if (!ROBOT_ID_PATTERN.test(robot)) throw new Error('robot id must be 1-64 of A-Z a-z 0-9 _ -');
    if (!(ttlMs > 0 && ttlMs <= this.limits.maxInviteTtlMs)) throw new Error(`ttl must be between 1 ms and ${this.limits.maxInviteTtlMs} ms`);
    const token = `hi_${newSecret()}`;
    const id = newSecret(9);
    const expiresAt = this.now() + ttlMs;
    await this.store.putInvite({ id, hash: hashSecret(token), robot, role, expiresAt, createdAt: this.now() });
    this.log.info('invite created', { invite: id, robot, role, expiresAt });
    return { id, token, robot, role, expiresAt };
  }

  async revokeInvite(id: string): Promise<void> { await this.store.deleteInvite(id); }

  /** Trades an invite for a short-lived session token; null when the invite is unknown or expired. */
  async redeemInvite(inviteToken: string): Promise<IssuedSession | null> {
    const inv = await this.store.getInvite(hashSecret(inviteToken));
    if (!inv || inv.expiresAt <= this.now()) return null;
    const token = `hs_${newSecret(32)}`;
    const now = this.now();
    const session: SessionRecord = {
      id: newSecret(9), tokenHash: hashSecret(token), robot: inv.robot, role: inv.role, inviteId: inv.id,
      expiresAt: Math.min(now + this.limits.sessionTtlMs, inv.expiresAt), createdAt: now,
    };
    await this.store.putSession(session);
    this.log.info('session issued', { session: session.id, robot: session.robot, role: session.role });
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
