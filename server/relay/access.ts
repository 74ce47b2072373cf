// The one place that decides access (like MediaMTX's internal/auth/manager.go): admin key, robot
// credentials, and MediaMTX's publish/read questions (invites and session tokens: invites.ts).
// Secrets are random (>= 192 bits) and stored as SHA-256 hashes (robot passwords, which a person may
// choose: salted scrypt, robot-password.ts); comparisons are constant-time.
// Failed logins are counted per address and slowed (exponential delay), and an address that keeps
// failing gets 429 for the rest of the window. Only wrong credentials are braked: a right one is
// checked first and always passes, so nobody's failures lock out anyone else behind one address.
import { timingSafeEqual } from 'node:crypto';
import type { Role } from '../../protocol/messages.ts';
import { ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import type { Logger } from '../../common/log.ts';
import { LoginBrake } from '../../common/login-brake.ts';
import type { RelayLimits } from './limits.ts';
import type { SessionRecord, Store } from './store.ts';
import { hashSecret, Invites, newSecret, type Invite, type IssuedSession } from './invites.ts';
import { hashRobotPassword, RobotPasswords } from './robot-password.ts';
import { isPublishCredential, type PublishCredentials } from './publish-credential.ts';

export { hashSecret, type Invite, type IssuedSession };
const sameHash = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** What MediaMTX POSTs to authHTTPAddress (v1.20.1). */
export interface MediamtxAuthRequest {
  ip?: string; user?: string; password?: string; token?: string; action?: string; path?: string;
  protocol?: string; id?: string | null; query?: string;
}
export type Decision =
  | { allow: true; who: string; session?: SessionRecord }
  | { allow: false; status: 401 | 403 | 429; reason: string };

/** Parses "90s", "30m", "1h", "7d" or plain milliseconds. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

export class Access {
  /** Bounded (common/login-brake.ts): a flood of source addresses cannot grow it without end. */
  private readonly brake: LoginBrake;
  private readonly adminHash: string | null;
  readonly invites: Invites;
  /** Robot passwords: salted scrypt, old SHA-256 records upgraded on login (robot-password.ts). */
  readonly robots: RobotPasswords;
  /** The robots' short-lived media credentials (server.ts sets them: they need the hook's secret). */
  publish: PublishCredentials | null = null;
  /** Robots already told to stop sending their long-lived password to MediaMTX (once each). */
  private readonly warnedPassword = new Set<string>();

  constructor(
    private readonly store: Store,
    limits: RelayLimits,
    private readonly log: Logger,
    adminKey: string | undefined,
    private readonly onFailure: (kind: string) => void = () => {},
    /** The clock of every expiry and of the brake's window (tests pass a fake one). */
    private readonly now: () => number = () => Date.now(),
  ) {
    this.adminHash = adminKey ? hashSecret(adminKey) : null;
    this.invites = new Invites(store, limits, log, now);
    this.robots = new RobotPasswords(store, log);
    this.brake = new LoginBrake({
      baseDelayMs: limits.authFailBaseDelayMs, maxDelayMs: limits.authFailMaxDelayMs,
      windowMs: limits.authFailWindowMs, lockAfter: limits.authFailLockAfter, now,
    });
  }

  // ---- failed-login brake ------------------------------------------------------------------

  /** True while an address has failed too often in the window: its wrong credentials get 429. */
  locked(ip: string): boolean { return this.brake.locked(ip); }

  /**
   * Records a failure and waits the brake's delay before the caller answers. A locked address's
   * failures are counted (metrics) but not logged one by one: its flood must not flood the log.
   */
  async failed(ip: string, kind: string): Promise<void> {
    const quiet = this.brake.locked(ip);
    const delay = this.brake.fail(ip);
    this.onFailure(kind);
    if (!quiet) this.log.warn('auth failed', { ip, kind, recent: this.brake.failuresOf(ip) });
    await new Promise((r) => setTimeout(r, delay));
  }

  // ---- admin ---------------------------------------------------------------------------------

  /** The admin API key, from `Authorization: Bearer <key>` or `X-Api-Key`. No key configured: no admin. */
  isAdmin(authorization: string | undefined, apiKeyHeader: string | undefined): boolean {
    if (!this.adminHash) return false;
    const key = apiKeyHeader ?? bearer(authorization);
    return !!key && sameHash(hashSecret(key), this.adminHash);
  }

  // ---- robots --------------------------------------------------------------------------------

  /** Creates a robot or rotates its secret. The password is shown once and stored hashed. */
  async registerRobot(id: string): Promise<{ robot: string; user: string; password: string }> {
    if (!ROBOT_ID_PATTERN.test(id)) throw new Error('robot id must be 1-64 of A-Z a-z 0-9 _ -');
    const password = newSecret();
    await this.store.putRobot({ id, secretHash: await hashRobotPassword(password, 'generated'), createdAt: this.now() });
    this.log.info('robot registered', { robot: id });
    return { robot: id, user: id, password };
  }

  verifyRobot(robotId: string, secret: string): Promise<boolean> { return this.robots.verify(robotId, secret); }

  /** Robot credentials from a WebSocket upgrade: Basic <robotId:secret> or Bearer <secret>. */
  robotSecretFrom(robotId: string, authorization: string | undefined): string | null {
    if (!authorization) return null;
    const b = bearer(authorization);
    if (b) return b;
    const m = /^Basic\s+(\S+)$/i.exec(authorization);
    if (!m) return null;
    const decoded = Buffer.from(m[1]!, 'base64').toString();
    const i = decoded.indexOf(':');
    return i > 0 && decoded.slice(0, i) === robotId ? decoded.slice(i + 1) : null;
  }

  // ---- invites and sessions (invites.ts; these pass through so callers keep one object) ----

  createInvite(robot: string, role: Role, ttlMs: number): Promise<Invite> { return this.invites.createInvite(robot, role, ttlMs); }
  revokeInvite(id: string): Promise<void> { return this.invites.revokeInvite(id); }
  redeemInvite(inviteToken: string): Promise<IssuedSession | null> { return this.invites.redeemInvite(inviteToken); }
  verifySession(token: string): Promise<SessionRecord | null> { return this.invites.verifySession(token); }
  sessionLive(id: string): Promise<SessionRecord | null> { return this.invites.sessionLive(id); }
  refreshSession(session: SessionRecord): Promise<IssuedSession | null> { return this.invites.refreshSession(session); }
  revokeSession(id: string): Promise<void> { return this.invites.revokeSession(id); }

  // ---- MediaMTX ------------------------------------------------------------------------------

  /**
   * MediaMTX's question. The robot may publish only robots/<itsId> and read robots/<itsId>/talk; a
   * driver session may publish robots/<id>/talk, read robots/<id> and play back its recordings
   * (`playback`: list and download); a viewer may only read robots/<id> live — recordings keep what
   * a viewer never saw, so they are the drivers' (and the admin's, mediamtx-auth.ts). Everything
   * else is denied.
   */
  async decideMediamtx(q: MediamtxAuthRequest): Promise<Decision> {
    const ip = q.ip || 'unknown';
    const m = /^robots\/([A-Za-z0-9_-]{1,64})(\/talk)?$/.exec(q.path ?? '');
    if (!m) return { allow: false, status: 403, reason: 'path not allowed' };
    const robot = m[1]!;
    const talk = !!m[2];
    const action = q.action;
    const query = new URLSearchParams(q.query ?? '');
    const secret = q.password || q.token || query.get('token') || '';
    if (!secret) return { allow: false, status: 401, reason: 'no credentials' };

    let role: 'robot' | Role | null = null;
    let who = '';
    let session: SessionRecord | undefined;
    if (isPublishCredential(secret)) {
      // The relay-issued credential: never tried as a password (no scrypt), useless once expired.
      if (await this.publish?.verify(robot, q.user, secret)) { role = 'robot'; who = `robot:${robot}`; }
    } else if ((!q.user || q.user === robot) && !secret.startsWith('hs_') && (await this.verifyRobot(robot, secret))) {
      role = 'robot'; who = `robot:${robot}`;
      // Still accepted (an older bridge), but whoever sees its RTSP can log in as the robot.
      if (!this.warnedPassword.has(robot)) {
        this.warnedPassword.add(robot);
        this.log.warn('robot sent its long-lived password to MediaMTX: update its bridge, which uses the relay-issued publish credential', { robot, protocol: q.protocol });
      }
    } else {
      const s = await this.verifySession(secret);
      if (s && s.robot === robot) { role = s.role; who = `session:${s.id}`; session = s; }
    }
    if (!role) {
      const locked = this.locked(ip);
      await this.failed(ip, 'mediamtx');
      if (locked) return { allow: false, status: 429, reason: 'too many failed logins' };
      return { allow: false, status: 401, reason: 'bad credentials' };
    }
    const allowed =
      (role === 'robot' && ((action === 'publish' && !talk) || (action === 'read' && talk))) ||
      (role === 'driver' && ((action === 'publish' && talk) || ((action === 'read' || action === 'playback') && !talk))) ||
      (role === 'viewer' && action === 'read' && !talk);
    return allowed ? { allow: true, who, session } : { allow: false, status: 403, reason: `${role} may not ${action} ${talk ? 'talk' : 'video'}` };
  }
}

export function bearer(authorization: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return m ? m[1]! : null;
}
