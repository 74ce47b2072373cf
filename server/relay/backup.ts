// Backups of the relay's state (`npm run relay -- backup <file>` / `restore <file>`): what
// Store.snapshot() gives, in a versioned file with a checksum, written atomically.
//
// The file is two parts: one header line, then the state as JSON.
//   {"format":"havatar-relay-backup","version":1,"createdAt":"…","store":"file","counts":{…},"bytes":N,"sha256":"…"}
//   {"robots":[…],"invites":[…],"sessions":[…]}
// The checksum and length cover the exact bytes after the header's newline, so a truncated or
// altered file is refused without relying on JSON being re-serialised the same way. Each record
// is checked too before anything is written: a restore either applies a whole valid backup or
// changes nothing. It holds password hashes (salted scrypt) and SHA-256 hashes of invite and
// session tokens, never a secret itself; it is still written 0600.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import type { InviteRecord, RobotRecord, SessionRecord, StoreState } from './store.ts';

export const BACKUP_FORMAT = 'havatar-relay-backup';
export const BACKUP_VERSION = 1;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  /** Which store it was taken from ('file' | 'redis'): either can be restored into either. */
  store: string;
  counts: { robots: number; invites: number; sessions: number };
  bytes: number;
  sha256: string;
}

/** A backup that cannot be restored: the message says why, for the operator. */
export class BadBackup extends Error {}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function encodeBackup(state: StoreState, store: string, now = new Date()): string {
  const body = Buffer.from(JSON.stringify(state));
  const header: BackupHeader = {
    format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: now.toISOString(), store,
    counts: { robots: state.robots.length, invites: state.invites.length, sessions: state.sessions.length },
    bytes: body.length, sha256: sha256(body),
  };
  return `${JSON.stringify(header)}\n${body.toString()}`;
}

/** Writes the backup so that a crash at any instant leaves no file, or the old one, or this one whole. */
export async function writeBackup(path: string, state: StoreState, store: string): Promise<BackupHeader> {
  const text = encodeBackup(state, store);
  await writeFileAtomic(path, text, 0o600);
  return JSON.parse(text.slice(0, text.indexOf('\n'))) as BackupHeader;
}

export async function readBackup(path: string): Promise<{ header: BackupHeader; state: StoreState }> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new BadBackup(`cannot read ${path}: ${(err as Error).message}`);
  }
  return decodeBackup(raw);
}

/** Checks everything (header, length, checksum, every record) and throws BadBackup on the first problem. */
export function decodeBackup(raw: Buffer): { header: BackupHeader; state: StoreState } {
  const nl = raw.indexOf(0x0a);
  let header: Partial<BackupHeader>;
  try {
    header = JSON.parse(raw.subarray(0, nl === -1 ? raw.length : nl).toString('utf8')) as Partial<BackupHeader>;
  } catch {
    throw new BadBackup('not a Havatar relay backup (its first line is not the backup header)');
  }
  if (header?.format !== BACKUP_FORMAT) throw new BadBackup('not a Havatar relay backup (no "format":"havatar-relay-backup" header)');
  if (header.version !== BACKUP_VERSION) throw new BadBackup(`backup version ${String(header.version)} is not supported (this relay reads version ${BACKUP_VERSION})`);
  if (nl === -1) throw new BadBackup('the backup is truncated: it ends after its header');
  const body = raw.subarray(nl + 1);
  if (body.length !== header.bytes) throw new BadBackup(`the backup is truncated or padded: ${body.length} bytes of state, the header says ${String(header.bytes)}`);
  if (sha256(body) !== header.sha256) throw new BadBackup('the backup is corrupt: its checksum does not match its content');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadBackup('the backup is corrupt: its state is not JSON');
  }
  return { header: header as BackupHeader, state: checkState(parsed) };
}

// ---- records, checked one by one -------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isCount = (v: unknown): boolean => v === undefined || (Number.isInteger(v) && (v as number) >= 0);
const isRole = (v: unknown): boolean => v === 'driver' || v === 'viewer';

function list(state: Obj, key: string): unknown[] {
  const v = state[key];
  if (!Array.isArray(v)) throw new BadBackup(`the backup has no "${key}" list`);
  return v;
}

function checkEach<T>(items: unknown[], what: string, ok: (r: Obj) => boolean): T[] {
  const seen = new Set<string>();
  items.forEach((r, i) => {
    if (!isObj(r) || !ok(r)) throw new BadBackup(`the backup's ${what} #${i + 1} is not a valid record`);
    if (seen.has(r.id as string)) throw new BadBackup(`the backup has ${what} ${String(r.id)} twice`);
    seen.add(r.id as string);
  });
  return items as T[];
}

function checkState(v: unknown): StoreState {
  if (!isObj(v)) throw new BadBackup('the backup\'s state is not an object');
  const robots = checkEach<RobotRecord>(list(v, 'robots'), 'robot', (r) =>
    typeof r.id === 'string' && ROBOT_ID_PATTERN.test(r.id) && isStr(r.secretHash) && isTime(r.createdAt));
  const invites = checkEach<InviteRecord>(list(v, 'invites'), 'invite', (r) =>
    isStr(r.id) && isStr(r.hash) && typeof r.robot === 'string' && ROBOT_ID_PATTERN.test(r.robot) && isRole(r.role)
    && isTime(r.expiresAt) && isTime(r.createdAt) && isCount(r.uses) && isCount(r.redeemed)
    && (r.redemptions === undefined || (Array.isArray(r.redemptions) && r.redemptions.every((x) => isObj(x) && isTime(x.at) && typeof x.ip === 'string' && typeof x.session === 'string'))));
  const sessions = checkEach<SessionRecord>(list(v, 'sessions'), 'session', (r) =>
    isStr(r.id) && isStr(r.tokenHash) && typeof r.robot === 'string' && ROBOT_ID_PATTERN.test(r.robot) && isRole(r.role)
    && typeof r.inviteId === 'string' && isTime(r.expiresAt) && isTime(r.createdAt));
  return { robots, invites, sessions };
}
