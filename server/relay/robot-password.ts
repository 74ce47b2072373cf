// Robot passwords on the relay. A password a person chose (`register --password`) may be weak, so
// it is stored as a salted scrypt hash: `scrypt$N$r$p$<salt>$<key>` (base64url). One the relay made
// itself (192 random bits) cannot be guessed whatever the hash: it is stored salted SHA-256,
// `sha256$<salt>$<hash>`, and checked in microseconds, so a relay restart that brings a hundred
// robots back at once never queues them behind scrypt. Records written before either hold the
// password's unsalted SHA-256 (64 hex digits): they still verify, and the first successful login
// rewrites them as scrypt (logged; their origin is unknown). scrypt costs tens of milliseconds and
// 16 MiB, so at most CHECKS_AT_ONCE run together and CHECKS_WAITING wait; beyond that a check is
// refused at once (503) instead of queueing behind a flood of guesses; and a robot's password once
// checked is remembered (as a keyed MAC, in memory) so its reconnects and publishes skip scrypt.
import { createHash, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Logger } from '../../common/log.ts';
import { HttpError } from './http.ts';
import type { RobotRecord, Store } from './store.ts';
import { CheckGate } from '../../common/check-gate.ts';

const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const MAXMEM = 64 * 1024 * 1024;
export const CHECKS_AT_ONCE = 2;
export const CHECKS_WAITING = 32;
/** Longer than any password the relay hands out or accepts: not hashed at all. */
const MAX_PASSWORD_CHARS = 256;

const LEGACY = /^[0-9a-f]{64}$/;

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** Where a password came from: the relay's own random secret, or a person's choice. */
export type PasswordOrigin = 'generated' | 'chosen';

const saltedSha256 = (password: string, salt: Buffer): Buffer => createHash('sha256').update(salt).update(password).digest();

/** The stored form of a password the relay made itself (no scrypt: see the top of this file). */
export function hashGeneratedPassword(password: string): string {
  const salt = randomBytes(16);
  return ['sha256', salt.toString('base64url'), saltedSha256(password, salt).toString('base64url')].join('$');
}

/** The stored form of a new password. */
export async function hashRobotPassword(password: string, origin: PasswordOrigin = 'chosen'): Promise<string> {
  if (origin === 'generated') return hashGeneratedPassword(password);
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LEN, { ...PARAMS, maxmem: MAXMEM });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `stored` is the old unsalted SHA-256 form (to be rewritten on the next login). */
export const isLegacyHash = (stored: string): boolean => LEGACY.test(stored);

/** True when checking against `stored` is cheap (no scrypt): no gate needed. */
const isFast = (stored: string): boolean => isLegacyHash(stored) || stored.startsWith('sha256$');

async function matches(password: string, stored: string): Promise<boolean> {
  if (isLegacyHash(stored)) {
    return timingSafeEqual(createHash('sha256').update(password).digest(), Buffer.from(stored, 'hex'));
  }
  if (stored.startsWith('sha256$')) {
    const [, salt, hash] = stored.split('$');
    const want = Buffer.from(hash ?? '', 'base64url');
    const got = saltedSha256(password, Buffer.from(salt ?? '', 'base64url'));
    return want.length === got.length && timingSafeEqual(got, want);
  }
  const [algo, n, r, p, salt, key] = stored.split('$');
  if (algo !== 'scrypt' || !salt || !key) return false;
  const want = Buffer.from(key, 'base64url');
  const got = await scrypt(password, Buffer.from(salt, 'base64url'), want.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: MAXMEM });
  return timingSafeEqual(got, want);
}

export class RobotPasswords {
  private readonly gate = new CheckGate(CHECKS_AT_ONCE, CHECKS_WAITING, () => new HttpError(503, 'unavailable', 'too many password checks at once, try again'));
  /** The record generation (createdAt) each robot last logged in with, for its connection. */
  private readonly verified = new Map<string, number>();
  /** A MAC of each robot's password as last checked, with the record it matched (see verify()). */
  private readonly known = new Map<string, { stored: string; mac: Buffer }>();
  private readonly macKey = randomBytes(32);

  constructor(private readonly store: Pick<Store, 'getRobot' | 'putRobot'>, private readonly log: Logger) {}

  /** True when `secret` is the robot's password; an old SHA-256 record is rewritten as scrypt. */
  async verify(robot: string, secret: string): Promise<boolean> {
    const rec = await this.store.getRobot(robot);
    if (!rec || !secret || secret.length > MAX_PASSWORD_CHARS) return false;
    const mac = createHmac('sha256', this.macKey).update(secret).digest();
    const known = this.known.get(robot);
    const remembered = known?.stored === rec.secretHash && timingSafeEqual(known.mac, mac);
    if (!remembered) {
      const check = () => matches(secret, rec.secretHash);
      if (!(await (isFast(rec.secretHash) ? check() : this.gate.run(check)))) return false;
      this.known.set(robot, { stored: rec.secretHash, mac });
    }
    this.verified.set(robot, rec.createdAt);
    // Off the login's path, and only while no other check waits: a relay restart bringing many
    // old robots back at once upgrades them over their next logins instead of queueing them.
    if (isLegacyHash(rec.secretHash) && this.gate.idle) void this.upgrade(rec, secret);
    return true;
  }

  /**
   * Which registration the robot last logged in with (its record's createdAt), null before any
   * login here. A connection remembers it; a new registration changes it (see standing()).
   */
  generation(robot: string): number | null { return this.verified.get(robot) ?? null; }

  /**
   * False once the robot has been registered again (new password) or removed since `generation`.
   * Null (no login checked here: a socket handed in directly, as the hub's unit tests do) stands.
   */
  async standing(robot: string, generation: number | null): Promise<boolean> {
    if (generation === null) return true;
    const rec = await this.store.getRobot(robot);
    return !!rec && rec.createdAt === generation;
  }

  /** Same password, same generation (createdAt kept): only the stored form changes. */
  private async upgrade(rec: RobotRecord, secret: string): Promise<void> {
    try {
      const secretHash = await this.gate.run(() => hashRobotPassword(secret));
      // Registered again while we hashed: the new password wins, nothing to upgrade.
      if ((await this.store.getRobot(rec.id))?.secretHash !== rec.secretHash) return;
      await this.store.putRobot({ ...rec, secretHash });
      this.log.info('robot password hash upgraded', { robot: rec.id, from: 'sha256', to: 'scrypt' });
    } catch (err) {
      this.log.warn('robot password hash upgrade failed; the old record keeps working', { robot: rec.id, error: err as Error });
    }
  }
}
