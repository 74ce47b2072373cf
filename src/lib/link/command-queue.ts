// What may wait and what may not. Drive commands are sent only on a live link and are never
// stored: a drive command that arrives late is dangerous. Non-drive actions (text-to-speech) made
// while offline are kept in IndexedDB with a time-to-live, shown as pending, and sent exactly once
// when the link is live again (removed from the store as they are handed to the socket).

import { DEFAULT_DRIVE_TTL_MS } from '../../../protocol/limits.ts';
import { msg, type DriveMsg, type StopMsg, type TtsMsg } from '../../../protocol/messages.ts';
import type { Tracks } from '../control/mix.ts';
import type { HavatarDb, OutboxItem } from '../storage/db.ts';
import { Emitter } from './emitter.ts';
import type { Link } from './link.ts';

export type ActionState = 'pending' | 'sent' | 'done' | 'failed' | 'expired';
export interface ActionView { id: string; kind: 'tts'; text: string; state: ActionState; error?: string; expiresAt: number }

export interface OutboxStore {
  all(): Promise<OutboxItem[]>;
  put(item: OutboxItem): Promise<void>;
  delete(id: string): Promise<void>;
}

export function idbOutbox(db: Promise<HavatarDb>): OutboxStore {
  return {
    all: async () => (await db).getAllFromIndex('outbox', 'byCreated'),
    put: async (item) => void (await (await db).put('outbox', item)),
    delete: async (id) => (await db).delete('outbox', id),
  };
}

export interface QueueOptions {
  now?: () => number;
  driveTtlMs?: number;
  /** How long a queued action stays worth sending. */
  actionTtlMs?: number;
}

export const ACTION_TTL_MS = 2 * 60_000;
const MAX_SHOWN = 20;

export class CommandQueue {
  private readonly events = new Emitter<{ change: void }>();
  private readonly now: () => number;
  private readonly driveTtlMs: number;
  private readonly actionTtlMs: number;
  private seq = 0;
  private views: ActionView[] = [];
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private readonly unsubs: (() => void)[];
  /** Round trip of the last acknowledged drive command, ms. */
  commandRttMs: number | null = null;
  lastAck: { seq: number; result: string; reason?: string } | null = null;
  /** Drive commands not sent because the link was not live (counted, never stored). */
  droppedDrives = 0;

  constructor(private readonly link: Link, private readonly store: OutboxStore, opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.driveTtlMs = opts.driveTtlMs ?? DEFAULT_DRIVE_TTL_MS;
    this.actionTtlMs = opts.actionTtlMs ?? ACTION_TTL_MS;
    this.unsubs = [
      link.on('status', (s) => {
        if (s.state === 'live') void this.flush();
      }),
      link.on('message', (m) => {
        if (m.type === 'ack') {
          this.commandRttMs = Math.max(0, this.now() - m.t);
          this.lastAck = m.reason ? { seq: m.seq, result: m.result, reason: m.reason } : { seq: m.seq, result: m.result };
          this.changed();
        } else if (m.type === 'tts_result') {
          this.update(m.id, m.ok ? { state: 'done' } : { state: 'failed', error: m.error ?? 'The robot could not speak it.' });
        }
      }),
    ];
  }

  dispose(): void {
    for (const u of this.unsubs) u();
  }

  on(type: 'change', fn: () => void): () => void {
    return this.events.on(type, fn);
  }

  get actions(): readonly ActionView[] {
    return this.views;
  }

  // ---- drive: now or never ---------------------------------------------------------------

  sendDrive(t: Tracks): boolean {
    if (this.link.status.state !== 'live') {
      this.droppedDrives++;
      return false;
    }
    this.seq = (this.seq + 1) >>> 0;
    return this.link.send(msg<DriveMsg>({ type: 'drive', seq: this.seq, left: t.left, right: t.right, ttl: this.driveTtlMs, t: this.now() }));
  }

  /** Stop goes out whenever a socket is open at all, degraded or not. */
  sendStop(): boolean {
    this.seq = (this.seq + 1) >>> 0;
    return this.link.send(msg<StopMsg>({ type: 'stop', seq: this.seq, t: this.now() }));
  }

  // ---- actions: kept until sent or expired -----------------------------------------------

  /** Loads actions a previous page left pending, so they show (and go out) after a reload. */
  async restore(): Promise<void> {
    const items = await this.store.all();
    for (const item of items) if (!this.views.some((v) => v.id === item.id)) this.views.push(viewOf(item, 'pending'));
    this.changed();
    if (this.link.status.state === 'live') await this.flush();
  }

  async say(text: string): Promise<ActionView> {
    const at = this.now();
    const item: OutboxItem = { id: `tts-${at.toString(36)}-${Math.random().toString(36).slice(2, 8)}`, kind: 'tts', text, createdAt: at, expiresAt: at + this.actionTtlMs };
    if (this.link.status.state === 'live' && this.link.send(ttsOf(item))) {
      this.show(viewOf(item, 'sent'));
    } else {
      await this.store.put(item);
      this.show(viewOf(item, 'pending'));
      if (this.link.status.state === 'live') await this.flush();
    }
    return this.views.find((v) => v.id === item.id)!;
  }

  /** Sends every stored action that has not expired, once. Safe to call concurrently. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.flushAgain = false;
        await this.flushOnce();
      } while (this.flushAgain);
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const items = await this.store.all();
    for (const item of items) {
      if (item.expiresAt <= this.now()) {
        await this.store.delete(item.id);
        this.update(item.id, { state: 'expired' }, item);
        continue;
      }
      // Re-checked after every await: the link may have dropped meanwhile.
      if (this.link.status.state !== 'live') return;
      if (!this.link.send(ttsOf(item))) return;
      await this.store.delete(item.id);
      this.update(item.id, { state: 'sent' }, item);
    }
  }

  private show(view: ActionView): void {
    this.views = [...this.views.filter((v) => v.id !== view.id), view].slice(-MAX_SHOWN);
    this.changed();
  }

  private update(id: string, patch: Partial<ActionView>, item?: OutboxItem): void {
    const existing = this.views.find((v) => v.id === id) ?? (item ? viewOf(item, 'pending') : null);
    if (existing) this.show({ ...existing, ...patch });
  }

  private changed(): void {
    this.events.emit('change', undefined);
  }
}

const ttsOf = (item: OutboxItem): TtsMsg => msg<TtsMsg>({ type: 'tts', id: item.id, text: item.text });
const viewOf = (item: OutboxItem, state: ActionState): ActionView => ({ id: item.id, kind: item.kind, text: item.text, state, expiresAt: item.expiresAt });
