// The operator token: 32 random bytes (base64url), shown once, stored only as a salted scrypt hash
// in the data dir. Verifying a token costs one scrypt, so a correct token is remembered (as its
// SHA-256) to keep every request from paying it; wrong ones always pay (that is part of the brake).

import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-write.ts';

export const TOKEN_FILE = 'operator_token.json';
const KEY_LEN = 32;
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
/** Longest token we even try to hash: anything longer is not ours. */
const MAX_TOKEN_CHARS = 256;

interface StoredHash { algo: 'scrypt'; N: number; r: number; p: number; salt: string; hash: string; created: string }

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export class TokenStore {
  private verifiedDigest: Buffer | null = null;

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

  /** Constant-time check of a presented token. */
  async verify(candidate: string): Promise<boolean> {
    if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_TOKEN_CHARS) return false;
    const digest = sha256(candidate);
    if (this.verifiedDigest && timingSafeEqual(digest, this.verifiedDigest)) return true;
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
