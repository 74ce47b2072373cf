// The one place that decides whether a request (HTTP or a WebSocket handshake) carries valid
// operator credentials: a Bearer header, ?token=, or the session cookie. Cookies are accepted only
// from the bridge's own origin, so another site can never ride on them (CSRF, cross-site WS).

import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../common/log.ts';
import { LoginBrake } from '../../common/login-brake.ts';
import { readCookie, SESSION_COOKIE, type SessionStore } from './sessions.ts';
import type { TokenStore } from './token-store.ts';

export type AuthVia = 'bearer' | 'query' | 'cookie';
export type AuthResult = { ok: true; via: AuthVia } | { ok: false; reason: string };

/** The address a request came from (the socket's; no proxy sits in front of the bridge). */
export const clientAddress = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';

/** True when the request's Origin is this bridge itself (same scheme-less host:port). */
export function isOwnOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function bearerOf(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : '';
}

export function queryTokenOf(req: IncomingMessage): string | null {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q === -1) return null;
  return new URLSearchParams(url.slice(q + 1)).get('token');
}

/**
 * Each failure from an address holds its answer back longer (100 ms, doubling, up to 5 s) while its
 * failures are under 10 minutes old; never a lockout: the robot's owner must always get back in.
 */
export const BRIDGE_BRAKE = { baseDelayMs: 100, maxDelayMs: 5000, windowMs: 10 * 60_000 } as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Access {
  readonly brake = new LoginBrake(BRIDGE_BRAKE);

  constructor(private tokens: TokenStore, readonly sessions: SessionStore, private log: Logger) {}

  /** Checks the token alone (for POST /auth/session); slows and logs failures. */
  async checkToken(req: IncomingMessage, token: string | null): Promise<boolean> {
    if (token && (await this.tokens.verify(token))) {
      this.brake.succeed(clientAddress(req));
      return true;
    }
    await this.refuse(req, token ? 'wrong token' : 'no token');
    return false;
  }

  /**
   * Authenticates a request. `upgrade` marks a WebSocket handshake: there a cookie counts only
   * when the Origin is the bridge's own (browsers send Origin on every WebSocket).
   */
  async authenticate(req: IncomingMessage, opts: { upgrade?: boolean } = {}): Promise<AuthResult> {
    const bearer = bearerOf(req);
    const query = queryTokenOf(req);
    const presented = bearer ?? query;
    if (presented !== null) {
      if (await this.tokens.verify(presented)) {
        this.brake.succeed(clientAddress(req));
        return { ok: true, via: bearer !== null ? 'bearer' : 'query' };
      }
      await this.refuse(req, 'wrong token');
      return { ok: false, reason: 'wrong token' };
    }
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== null) {
      const originOk = opts.upgrade ? isOwnOrigin(req) : !req.headers.origin || isOwnOrigin(req);
      if (!originOk) {
        await this.refuse(req, 'session cookie from a foreign origin');
        return { ok: false, reason: 'session cookie from a foreign origin' };
      }
      if (this.sessions.valid(cookie)) return { ok: true, via: 'cookie' };
      await this.refuse(req, 'unknown or expired session');
      return { ok: false, reason: 'unknown or expired session' };
    }
    // No credentials at all is a first visit, not a guess: refused without slowing anyone down.
    this.log.debug('no credentials', { address: clientAddress(req), path: req.url });
    return { ok: false, reason: 'no credentials' };
  }

  private async refuse(req: IncomingMessage, reason: string): Promise<void> {
    const address = clientAddress(req);
    const delay = this.brake.fail(address);
    // The token itself is never logged; the URL loses its query string in the logger.
    this.log.warn('authentication failed', { address, reason, path: req.url, failures: this.brake.failuresOf(address), delayMs: delay });
    await sleep(delay);
  }
}
