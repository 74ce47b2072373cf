// The operator token: 32 random bytes (base64url), shown once, stored only as a salted scrypt hash
// in the data dir. Verifying a token costs one scrypt (16 MiB, tens of ms on a Pi), so a correct
// token is remembered (as its SHA-256) to keep every request from paying it. Wrong ones pay, but a
// flood of them cannot pile up: at most SCRYPT_AT_ONCE run and SCRYPT_WAITING wait, the same token
// checked twice at once shares one scrypt, and beyond that verify() throws TokenCheckBusy at once.

import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { CheckGate } from '../../common/check-gate.ts';

export const TOKEN_FILE = 'operator_token.json';
const KEY_LEN = 32;
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
/** Longest token we even try to hash: anything longer is not ours. */
const MAX_TOKEN_CHARS = 256;
/** The Pi has four cores and the same libuv pool serves file reads: two scrypts at a time leave room. */
export const SCRYPT_AT_ONCE = 2;
export const SCRYPT_WAITING = 4;
/** The shortest HAVATAR_OPERATOR_TOKEN accepted (a generated one is 43 characters). */
export const MIN_TOKEN_CHARS = 16;

/** Too many token checks are running or waiting: the caller answers 503 without checking. */
export class TokenCheckBusy extends Error {
  constructor() { super('too many token checks at once'); }
}

interface StoredHash { algo: 'scrypt'; N: number; r: number; p: number; salt: string; hash: string; created: string }

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export class TokenStore {
  private verifiedDigest: Buffer | null = null;
  /** Checks under way, by the candidate's SHA-256 (hex): a repeat waits for the same answer. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly gate = new CheckGate(SCRYPT_AT_ONCE, SCRYPT_WAITING, () => new TokenCheckBusy());

  private constructor(private stored: StoredHash, private path: string) {}

  /**
   * Opens the token store in dataDir. With `resetTo`, stores that token's hash (the launcher's
   * HAVATAR_OPERATOR_TOKEN); with no stored token, generates one. `newToken` is set only when a
   * token was generated here, so the caller can show it once.
   */
  static async open(dataDir: string, opts: { resetTo?: string; regenerate?: boolean } = {}): Promise<{ store: TokenStore; newToken?: string }> {
    const path = join(dataDir, TOKEN_FILE);
    if (opts.resetTo !== undefined || opts.regenerate) {
      const token = opts.resetTo ?? generateToken();
      const store = new TokenStore(await hashToken(token), path);
      await store.save();
      return opts.resetTo !== undefined ? { store } : { store, newToken: token };
    }
    const existing = await readStored(path);
    if (existing) return { store: new TokenStore(existing, path) };
    const token = generateToken();
    const store = new TokenStore(await hashToken(token), path);
    await store.save();
    return { store, newToken: token };
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.path, JSON.stringify(this.stored, null, 2) + '\n', 0o600);
  }

  /** True when a check of this very token is under way (a page's parallel first requests). */
  checking(candidate: string): boolean {
    return typeof candidate === 'string' && this.inFlight.has(sha256(candidate).toString('hex'));
  }

  /** True when `candidate` is the token already verified (cheap: no scrypt). */
  remembered(candidate: string): boolean {
    return !!this.verifiedDigest && typeof candidate === 'string' && timingSafeEqual(sha256(candidate), this.verifiedDigest);
  }

  /** Constant-time check of a presented token; throws TokenCheckBusy when the checks are full. */
  async verify(candidate: string): Promise<boolean> {
    if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_TOKEN_CHARS) return false;
    if (this.remembered(candidate)) return true;
    const digest = sha256(candidate);
    const key = digest.toString('hex');
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const check = this.gate.run(() => this.check(candidate, digest)).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, check);
    return check;
  }

  private async check(candidate: string, digest: Buffer): Promise<boolean> {
    const { N, r, p } = this.stored;
    const key = await scrypt(candidate, Buffer.from(this.stored.salt, 'base64'), KEY_LEN, { N, r, p, maxmem: 64 * 1024 * 1024 });
    const good = timingSafeEqual(key, Buffer.from(this.stored.hash, 'base64'));
    if (good) this.verifiedDigest = digest;
    return good;
  }

}

async function hashToken(token: string): Promise<StoredHash> {
  const salt = randomBytes(16);
  const key = await scrypt(token, salt, KEY_LEN, { ...PARAMS, maxmem: 64 * 1024 * 1024 });
  return { algo: 'scrypt', ...PARAMS, salt: salt.toString('base64'), hash: key.toString('base64'), created: new Date().toISOString() };
}

async function readStored(path: string): Promise<StoredHash | null> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<StoredHash>;
    if (v.algo === 'scrypt' && typeof v.salt === 'string' && typeof v.hash === 'string' && v.N && v.r && v.p) return v as StoredHash;
  } catch {
    // Missing or unreadable: a new token is generated and shown.
  }
  return null;
}
