// Fits the robot's video to its uplink. MediaMTX passes no viewer's congestion feedback back to an
// RTSP publisher, so the robot watches its own send queue (bytes written to the RTSP/TCP socket
// and not yet acknowledged: uplink-queue.ts) and steps down a ladder — bitrate first, then frame
// rate, then picture size — when video waits to leave, and back up after a long quiet spell.
// Pure: samples in, decisions out, time injected; the publisher restarts its encoder on a change.
//
// Queue delay = queued bytes ÷ the current step's bitrate: how long the newest frame waits to
// leave. Down when it stays above `congestedMs` for `downAfterMs`, or at once when packets had to
// be dropped (the queue hit its cap); after any change, `settleMs` for the queue to drain before
// judging again. Up one step after `upAfterMs` with the queue below `clearMs`; a step up that is
// followed by a step down within `upAfterMs` doubles the wait before the next try (up to
// `maxUpAfterMs`), so a link at its limit is not probed every few seconds.

export interface VideoShape { kbps: number; fps: number; width: number; height: number }
export interface UplinkStep extends VideoShape { name: string }

/** The ladder from the configured video down: bitrate, then frame rate, then size. */
export function uplinkLadder(full: VideoShape): UplinkStep[] {
  const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
  const half = Math.max(5, Math.round(full.fps / 2));
  const size = (f: number) => ({ width: even(full.width * f), height: even(full.height * f) });
  return [
    { name: 'full', ...full },
    { name: 'bitrate 60 %', ...full, kbps: Math.round(full.kbps * 0.6) },
    { name: 'bitrate 35 %', ...full, kbps: Math.round(full.kbps * 0.35) },
    { name: 'half frame rate', ...full, kbps: Math.round(full.kbps * 0.35), fps: half },
    { name: 'two-thirds size', ...size(2 / 3), kbps: Math.round(full.kbps * 0.22), fps: half },
    { name: 'half size', ...size(1 / 2), kbps: Math.round(full.kbps * 0.12), fps: half },
  ];
}

export interface UplinkPolicyOptions {
  now: () => number;
  congestedMs?: number;
  downAfterMs?: number;
  clearMs?: number;
  upAfterMs?: number;
  maxUpAfterMs?: number;
  settleMs?: number;
}

export interface UplinkSample {
  /** Bytes waiting to leave or not yet acknowledged on the publish socket. */
  queuedBytes: number;
  /** Packets dropped so far because the queue was full (a running total). */
  dropped: number;
}

export interface UplinkState {
  /** 0 = full quality; `of` steps in all. */
  step: number;
  of: number;
  name: string;
  shape: VideoShape;
  /** Why the current step was chosen, for /server/status and the app. */
  reason: string;
  since: number;
  /** The latest queue delay, ms. */
  queueMs: number;
}

export const UPLINK_DEFAULTS = {
  congestedMs: 400, downAfterMs: 1000, clearMs: 50, upAfterMs: 10_000, maxUpAfterMs: 80_000, settleMs: 2000,
} as const;

export class UplinkPolicy {
  private readonly o: Required<UplinkPolicyOptions>;
  private step = 0;
  private reason = 'full quality';
  private since: number;
  private lastChange: number;
  private lastUp = -Infinity;
  private upAfter: number;
  private congestedFrom: number | null = null;
  private clearFrom: number | null = null;
  private lastDropped = 0;
  private queueMs = 0;

  constructor(private readonly ladder: UplinkStep[], opts: UplinkPolicyOptions) {
    if (!ladder.length) throw new RangeError('the ladder needs at least one step');
    this.o = { ...UPLINK_DEFAULTS, ...opts };
    this.since = this.lastChange = this.o.now();
    this.upAfter = this.o.upAfterMs;
  }

  get state(): UplinkState {
    const s = this.ladder[this.step]!;
    return {
      step: this.step, of: this.ladder.length, name: s.name, shape: { kbps: s.kbps, fps: s.fps, width: s.width, height: s.height },
      reason: this.reason, since: this.since, queueMs: Math.round(this.queueMs),
    };
  }

  /** One sample of the send queue; returns the new step when it changes, else null. */
  observe(sample: UplinkSample): UplinkStep | null {
    const now = this.o.now();
    const kbps = this.ladder[this.step]!.kbps;
    this.queueMs = (sample.queuedBytes * 8) / Math.max(1, kbps);
    const droppedNow = sample.dropped > this.lastDropped;
    this.lastDropped = Math.max(this.lastDropped, sample.dropped);
    if (now - this.lastChange < this.o.settleMs) return null;

    if (droppedNow || this.queueMs > this.o.congestedMs) {
      this.clearFrom = null;
      this.congestedFrom ??= now;
      if (droppedNow || now - this.congestedFrom >= this.o.downAfterMs) {
        const why = droppedNow ? 'the uplink queue overflowed (packets dropped)' : `${Math.round(this.queueMs)} ms of video waiting to leave`;
        return this.move(this.step + 1, `uplink congested: ${why}`, now);
      }
      return null;
    }
    this.congestedFrom = null;
    if (this.queueMs > this.o.clearMs) { this.clearFrom = null; return null; }
    this.clearFrom ??= now;
    if (this.step > 0 && now - this.clearFrom >= this.upAfter) {
      return this.move(this.step - 1, `uplink has room: ${Math.round((now - this.clearFrom) / 1000)} s without a queue`, now);
    }
    return null;
  }

  private move(to: number, reason: string, now: number): UplinkStep | null {
    const next = Math.max(0, Math.min(this.ladder.length - 1, to));
    if (next === this.step) {
      this.reason = reason;
      return null;
    }
    if (next > this.step) {
      // Down soon after a step up: the link could not take it; wait longer before the next try.
      this.upAfter = now - this.lastUp < this.upAfter ? Math.min(this.o.maxUpAfterMs, this.upAfter * 2) : this.upAfter;
    } else {
      this.lastUp = now;
    }
    this.step = next;
    this.reason = next === 0 ? 'full quality' : reason;
    if (next === 0 && reason.startsWith('uplink has room')) this.reason = `full quality (${reason})`;
    this.since = this.lastChange = now;
    this.congestedFrom = this.clearFrom = null;
    return this.ladder[next]!;
  }
}
