// Browser sessions for the app served by the bridge: POST /auth/session trades the token for an
// HttpOnly cookie, so the token does not have to live in page storage. Kept in memory (a bridge
// restart signs everyone out, which is fine for a robot) and looked up by hash.

import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'havatar_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 256;

const digest = (id: string): string => createHash('sha256').update(id).digest('base64url');

export class SessionStore {
  private sessions = new Map<string, number>();

  constructor(private ttlMs = SESSION_TTL_MS, private now: () => number = Date.now) {}

  create(): { id: string; expires: number } {
    this.prune();
    if (this.sessions.size >= MAX_SESSIONS) {
      // Drop the oldest rather than refuse: the operator holding the token must always get in.
      const oldest = [...this.sessions.entries()].sort((a, b) => a[1] - b[1])[0];
      if (oldest) this.sessions.delete(oldest[0]);
    }
    const id = randomBytes(32).toString('base64url');
    const expires = this.now() + this.ttlMs;
    this.sessions.set(digest(id), expires);
    return { id, expires };
  }

  valid(id: string): boolean {
    if (!id || id.length > 128) return false;
    const expires = this.sessions.get(digest(id));
    if (expires === undefined) return false;
    if (expires <= this.now()) {
      this.sessions.delete(digest(id));
      return false;
    }
    return true;
  }

  revoke(id: string): void {
    this.sessions.delete(digest(id));
  }

  private prune(): void {
    const t = this.now();
    for (const [k, exp] of this.sessions) if (exp <= t) this.sessions.delete(k);
  }
}

export function sessionCookie(id: string, expires: number, secure: boolean): string {
  const maxAge = Math.max(0, Math.round((expires - Date.now()) / 1000));
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
