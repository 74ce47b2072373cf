// The one place that decides whether a request (HTTP or a WebSocket handshake) carries valid
// operator credentials: a Bearer header, ?token=, or the session cookie. Cookies are accepted only
// from the bridge's own origin, so another site can never ride on them (CSRF, cross-site WS).

import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../common/log.ts';
import { LoginBrake } from '../../common/login-brake.ts';
import { readCookie, SESSION_COOKIE, type SessionStore } from './sessions.ts';
import { TokenCheckBusy, type TokenStore } from './token-store.ts';

export type AuthVia = 'bearer' | 'query' | 'cookie';
/**
 * `status`: how to answer a refusal — 401 (no or wrong credentials), 429 (this address has a token
 * check or its brake delay under way: try again after it), 503 (too many token checks at once).
 */
export type AuthResult = { ok: true; via: AuthVia } | { ok: false; reason: string; status: 401 | 429 | 503 };
/** A refusal that is about load, not the credential, says when to come back. */
export const retryAfter = (status: number): Record<string, string> => (status === 401 ? {} : { 'Retry-After': '1' });
type TokenVerdict = 'ok' | 'wrong' | 'busy-address' | 'busy';
const REFUSAL = {
  wrong: { status: 401, reason: 'wrong token' },
  'busy-address': { status: 429, reason: 'a token check from this address is under way, try again shortly' },
  busy: { status: 503, reason: 'too many token checks at once, try again shortly' },
} as const;

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
  /** Addresses with a token check, or the brake delay after a wrong one, under way. */
  private readonly checking = new Set<string>();

  constructor(private tokens: TokenStore, readonly sessions: SessionStore, private log: Logger) {}

  /** Checks the token alone (for POST /auth/session); slows and logs failures. */
  async checkToken(req: IncomingMessage, token: string | null): Promise<AuthResult> {
    if (!token) {
      await this.refuse(req, 'no token');
      return { ok: false, reason: 'no token', status: 401 };
    }
    const verdict = await this.checkPresented(req, token);
    return verdict === 'ok' ? { ok: true, via: 'bearer' } : { ok: false, ...REFUSAL[verdict] };
  }

  /**
   * The brake comes before the scrypt: the remembered right token passes at once; otherwise one
   * check per address at a time, and the address keeps its place through the delay a wrong token
   * earns, so its next guesses are answered 429 without a scrypt. The token store bounds the
   * checks of all addresses together (503 beyond).
   */
  private async checkPresented(req: IncomingMessage, token: string): Promise<TokenVerdict> {
    const address = clientAddress(req);
    if (this.tokens.remembered(token)) {
      this.brake.succeed(address);
      return 'ok';
    }
    if (this.checking.has(address)) {
      // The same token as the check under way (a page opening its video, socket and API calls at
      // once, before the token is remembered): it shares that check. Another token waits its turn.
      if (!this.tokens.checking(token)) return 'busy-address';
      return (await this.tokens.verify(token)) ? 'ok' : 'busy-address';
    }
    this.checking.add(address);
    try {
      if (await this.tokens.verify(token)) {
        this.brake.succeed(address);
        return 'ok';
      }
      await this.refuse(req, 'wrong token');
      return 'wrong';
    } catch (err) {
      if (!(err instanceof TokenCheckBusy)) throw err;
      this.log.warn('token checks full: refused without checking', { address, path: req.url });
      return 'busy';
    } finally {
      this.checking.delete(address);
    }
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
      const verdict = await this.checkPresented(req, presented);
      return verdict === 'ok' ? { ok: true, via: bearer !== null ? 'bearer' : 'query' } : { ok: false, ...REFUSAL[verdict] };
    }
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== null) {
      const originOk = opts.upgrade ? isOwnOrigin(req) : !req.headers.origin || isOwnOrigin(req);
      if (!originOk) {
        await this.refuse(req, 'session cookie from a foreign origin');
        return { ok: false, reason: 'session cookie from a foreign origin', status: 401 };
      }
      if (this.sessions.valid(cookie)) return { ok: true, via: 'cookie' };
      await this.refuse(req, 'unknown or expired session');
      return { ok: false, reason: 'unknown or expired session', status: 401 };
    }
    // No credentials at all is a first visit, not a guess: refused without slowing anyone down.
    this.log.debug('no credentials', { address: clientAddress(req), path: req.url });
    return { ok: false, reason: 'no credentials', status: 401 };
  }

  private async refuse(req: IncomingMessage, reason: string): Promise<void> {
    const address = clientAddress(req);
    const delay = this.brake.fail(address);
    // The token itself is never logged; the URL loses its query string in the logger.
    this.log.warn('authentication failed', { address, reason, path: req.url, failures: this.brake.failuresOf(address), delayMs: delay });
    await sleep(delay);
  }
}
