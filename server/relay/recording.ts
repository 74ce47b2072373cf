// Recording on demand. MediaMTX records (fragmented MP4 under recordPath, deleted after
// recordDeleteAfter: server/mediamtx.yml); the relay decides when. Starting adds (or patches) the
// path configuration `robots/<id>` with `record: true` through MediaMTX's control API — a named
// path wins over the `~^robots/…$` pattern and MediaMTX hot-reloads the change, so the robot's
// publish goes on untouched — and stopping patches it back to `record: false`.
// MediaMTX holds the truth: every check the relay compares its view with MediaMTX's list (a
// restarted MediaMTX has forgotten the runtime path: everyone is told the recording was lost), and
// the disk guard stops every recording once the recordings disk falls below its floor.
import { statfs } from 'node:fs/promises';
import type { Logger } from '../../common/log.ts';
import type { RecordingMsg, RecordingStopReason } from '../../protocol/relay.ts';
import { splitCredential } from './internal-api.ts';

/** Bytes an unprivileged writer (MediaMTX) may still write on the filesystem holding `dir`. */
export type FreeSpace = (dir: string) => Promise<number>;
export const statfsFree: FreeSpace = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

const mb = (bytes: number) => Math.floor(bytes / 1048576);

/**
 * The disk guard's verdict on the recordings disk: null when it has more than `floorBytes` free,
 * else the sentence the driver or admin is shown. A disk that cannot be read counts as full.
 */
export async function diskProblem(dir: string, floorBytes: number, free: FreeSpace = statfsFree): Promise<string | null> {
  let bytes: number;
  try {
    bytes = await free(dir);
  } catch (err) {
    return `the recordings disk (${dir}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (bytes >= floorBytes) return null;
  return `only ${mb(bytes)} MB free on the recordings disk (${dir}), below the floor of ${mb(floorBytes)} MB (RECORDING_MIN_FREE_MB)`;
}

/** MediaMTX's path configuration of one robot, through its control API. */
export interface RecordSwitch {
  /** Turns recording of `robots/<robot>` on or off. */
  set(robot: string, on: boolean): Promise<void>;
  /** The robots whose path MediaMTX records now. */
  recording(): Promise<Set<string>>;
}

const ROBOT_PATH = /^robots\/([A-Za-z0-9_-]{1,64})$/;

/** RecordSwitch over MediaMTX's API (v1.20.1: /v3/config/paths/{add,patch,list}). */
export class MediamtxRecordSwitch implements RecordSwitch {
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(apiUrl: string, private readonly timeoutMs = 2000, private readonly fetchImpl: typeof fetch = fetch) {
    ({ base: this.base, headers: this.headers } = splitCredential(apiUrl));
  }

  private call(method: string, path: string, body?: unknown): Promise<Response> {
    return this.fetchImpl(`${this.base}${path}`, {
      method,
      headers: { ...this.headers, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  async set(robot: string, on: boolean): Promise<void> {
    const name = `robots/${robot}`;
    let res = await this.call('PATCH', `/v3/config/paths/patch/${name}`, { record: on });
    // The first recording of this robot since MediaMTX started: the named path does not exist yet.
    if (res.status === 404 && on) res = await this.call('POST', `/v3/config/paths/add/${name}`, { record: true });
    if (res.status === 404 && !on) return; // nothing named, so nothing records
    if (!res.ok) throw new Error(`MediaMTX's API answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  }

  async recording(): Promise<Set<string>> {
    const res = await this.call('GET', '/v3/config/paths/list?itemsPerPage=1000');
    if (!res.ok) throw new Error(`MediaMTX's API answered ${res.status}`);
    const body = (await res.json()) as { items?: { name?: string; record?: boolean }[] };
    const out = new Set<string>();
    for (const p of body.items ?? []) {
      const m = ROBOT_PATH.exec(p.name ?? '');
      if (m && p.record) out.add(m[1]!);
    }
    return out;
  }
}

export interface RecordingsOptions {
  /** MediaMTX's switch; null: recording is not set up (no MediaMTX API). */
  switch: RecordSwitch | null;
  /** The directory MediaMTX records into (its recordPath's root), as this process sees it; null: not set up. */
  dir: string | null;
  /** Free bytes below which recording refuses to start and running ones stop. */
  floorBytes: number;
  /** Tells everyone (the robot's clients and the robot) of a change. */
  announce(frame: RecordingMsg): void;
  log: Logger;
  free?: FreeSpace;
  now?: () => number;
}

interface Active { since: number; by: string | null }

export type StartResult = { ok: true } | { ok: false; status: 409 | 503 | 507; message: string };

export class Recordings {
  private readonly active = new Map<string, Active>();
  /** One change at a time per robot: a start and a stop sent together end in the order given. */
  private readonly queue = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private failing = false;
  /** Counts changes; robot → the count at its last change (a check ignores robots changed while it asked MediaMTX). */
  private changes = 0;
  private readonly changedAt = new Map<string, number>();

  constructor(private readonly o: RecordingsOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  /** Recording can be asked for here. */
  get available(): boolean { return !!this.o.switch && !!this.o.dir; }

  /** What `robot`'s clients are told (on join, and after each change). */
  frame(robot: string, stopped?: RecordingStopReason): RecordingMsg {
    const a = this.active.get(robot);
    const f: RecordingMsg = { v: 1, type: 'recording', robot, available: this.available, active: !!a, since: a?.since ?? null, by: a?.by ?? null };
    if (stopped) f.stopped = stopped;
    return f;
  }

  /** robot → since and by, for the relay's status. */
  all(): Record<string, Active> { return Object.fromEntries(this.active); }

  private serial<T>(robot: string, job: () => Promise<T>): Promise<T> {
    const next = (this.queue.get(robot) ?? Promise.resolve()).then(job, job);
    const tail = next.catch(() => {});
    this.queue.set(robot, tail);
    void tail.then(() => { if (this.queue.get(robot) === tail) this.queue.delete(robot); });
    return next;
  }

  /** Starts recording `robot` on `by`'s word; refused (with the reason) without room or MediaMTX. */
  start(robot: string, by: string | null): Promise<StartResult> {
    return this.serial(robot, async (): Promise<StartResult> => {
      const sw = this.o.switch;
      if (!sw || !this.o.dir) return { ok: false, status: 503, message: 'recording is not set up on this server (the relay needs MEDIAMTX_API_URL and RECORDINGS_DIR)' };
      if (this.active.has(robot)) return { ok: true };
      const problem = await diskProblem(this.o.dir, this.o.floorBytes, this.o.free);
      if (problem) {
        this.o.log.warn('recording refused', { robot, reason: problem });
        return { ok: false, status: 507, message: `recording refused: ${problem}` };
      }
      try {
        await sw.set(robot, true);
      } catch (err) {
        this.o.log.warn('recording could not start', { robot, error: err as Error });
        return { ok: false, status: 503, message: `recording could not start: ${(err as Error).message}` };
      }
      this.active.set(robot, { since: this.now(), by });
      this.changedAt.set(robot, ++this.changes);
      this.o.log.info('recording started', { robot, by });
      this.o.announce(this.frame(robot));
      return { ok: true };
    });
  }

  /** Stops recording `robot` (nothing to do when it is not recording). */
  stop(robot: string, reason: RecordingStopReason = 'request'): Promise<StartResult> {
    return this.serial(robot, async (): Promise<StartResult> => {
      const sw = this.o.switch;
      if (!sw) return { ok: false, status: 503, message: 'recording is not set up on this server (the relay needs MEDIAMTX_API_URL and RECORDINGS_DIR)' };
      try {
        await sw.set(robot, false);
      } catch (err) {
        // Stay "recording" in everyone's eyes: the camera may well still be recorded.
        this.o.log.warn('recording could not stop', { robot, error: err as Error });
        return { ok: false, status: 503, message: `recording could not stop: ${(err as Error).message}` };
      }
      const was = this.active.delete(robot);
      this.changedAt.set(robot, ++this.changes);
      if (was) {
        this.o.log.info('recording stopped', { robot, reason });
        this.o.announce(this.frame(robot, reason));
      }
      return { ok: true };
    });
  }

  /**
   * The periodic check: the disk guard first (every recording stops below the floor), then the
   * relay's view against MediaMTX's (one that MediaMTX no longer records was lost; one it records
   * that this relay did not start — another relay, or this one before a restart — is shown too).
   */
  async check(): Promise<void> {
    const sw = this.o.switch;
    if (!sw || !this.o.dir) return;
    let there: Set<string>;
    const asked = this.changes;
    const changedSince = (robot: string) => (this.changedAt.get(robot) ?? 0) > asked;
    try {
      there = await sw.recording();
      if (this.failing) this.o.log.info('MediaMTX API answers again (recording check)');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.log.warn('recording check: MediaMTX API not answering', { error: err as Error });
      this.failing = true;
      return;
    }
    const recording = new Set([...there, ...this.active.keys()]);
    if (recording.size) {
      const problem = await diskProblem(this.o.dir, this.o.floorBytes, this.o.free);
      if (problem) {
        this.o.log.warn('recording stopped by the disk guard', { robots: [...recording], reason: problem });
        for (const robot of recording) {
          // A robot only MediaMTX records is adopted first, so that its stop is announced too.
          if (!this.active.has(robot)) this.active.set(robot, { since: this.now(), by: null });
          await this.stop(robot, 'disk_low');
        }
        return;
      }
    }
    for (const robot of [...this.active.keys()]) {
      if (there.has(robot)) continue;
      await this.serial(robot, async () => {
        if (changedSince(robot) || !this.active.delete(robot)) return;
        this.o.log.warn('recording lost: MediaMTX no longer records this robot (restarted?)', { robot });
        this.o.announce(this.frame(robot, 'lost'));
      });
    }
    for (const robot of there) {
      if (this.active.has(robot) || changedSince(robot) || this.queue.has(robot)) continue;
      this.active.set(robot, { since: this.now(), by: null });
      this.o.announce(this.frame(robot));
    }
  }
}
