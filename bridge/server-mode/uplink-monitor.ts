// Samples the publish socket's queue (RtspPush.queuedBytes) on a timer and runs the uplink policy
// on it; emits 'step' (UplinkStep) when the policy changes step. The publisher applies the step
// (a new encoder on the same RTSP session) and reports the policy's state.

import { EventEmitter } from 'node:events';
import { Timers } from '../../common/state-machine.ts';
import { UplinkPolicy, type UplinkPolicyOptions, type UplinkState, type UplinkStep } from './uplink-policy.ts';

/** How often the queue is sampled. */
export const UPLINK_SAMPLE_MS = 250;

export interface QueueSource {
  queuedBytes(): Promise<number>;
  readonly stats: { dropped: number };
}

export class UplinkMonitor extends EventEmitter {
  private readonly policy: UplinkPolicy;
  private readonly timers = new Timers();
  private source: QueueSource | null = null;
  private sampling = false;

  constructor(ladder: UplinkStep[], opts: Partial<UplinkPolicyOptions> & { sampleMs?: number } = {}) {
    super();
    this.policy = new UplinkPolicy(ladder, { now: opts.now ?? (() => performance.now()), ...opts });
    this.timers.every(opts.sampleMs ?? UPLINK_SAMPLE_MS, () => void this.sample(), 'uplink sample');
  }

  get state(): UplinkState { return this.policy.state; }

  /** The socket to watch (a new session after a reconnect), or null while there is none. */
  watch(source: QueueSource | null): void {
    this.source = source;
  }

  close(): void {
    this.timers.clearAll();
    this.source = null;
    this.removeAllListeners();
  }

  private async sample(): Promise<void> {
    const source = this.source;
    if (!source || this.sampling) return;
    this.sampling = true;
    try {
      const queuedBytes = await source.queuedBytes();
      if (this.source !== source) return;
      const step = this.policy.observe({ queuedBytes, dropped: source.stats.dropped });
      if (step) this.emit('step', step);
    } finally {
      this.sampling = false;
    }
  }
}
