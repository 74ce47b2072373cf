// The frame side of the motor link (protocol/serial.ts), apart from the port: sequence numbers,
// the acks awaited and their round-trip times, and the lines read back decoded into frames.

import type { Timers } from '../../common/state-machine.ts';
import { LineSplitter, SerialAck, decodeSerial, type DeviceFrame, type HostFrame } from '../../protocol/serial.ts';
import { log } from './serial-link.ts';

/** Sent frames remembered for round-trip times of refresh acks. */
const RTT_WINDOW = 64;
const SEQ_MODULO = 65536;

export interface MotorAck { seq: number; code: number; rttMs: number }

export interface MotorFramesOptions {
  firstSeq: number;
  ackTimeoutMs: number;
  /** Milliseconds, monotonic: ack round trips. */
  now: () => number;
}

interface Pending { resolve: (ack: MotorAck) => void; reject: (err: Error) => void }

const ackTimer = (seq: number): string => `ack ${seq}`;

export class MotorFrames {
  private seq: number;
  private splitter = new LineSplitter();
  private readonly sentAt = new Map<number, number>();
  private readonly pending = new Map<number, Pending>();

  /** `timers` are the link's, so the ack deadlines go with its close(). */
  constructor(private readonly opts: MotorFramesOptions, private readonly timers: Timers) {
    this.seq = opts.firstSeq % SEQ_MODULO;
  }

  nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % SEQ_MODULO;
    return s;
  }

  /** Notes when `seq` left, for the round trip of its ack. */
  sent(seq: number): void {
    this.sentAt.set(seq, this.opts.now());
    if (this.sentAt.size > RTT_WINDOW) this.sentAt.delete(this.sentAt.keys().next().value!);
  }

  /** Resolves with the ack of `seq`; rejects when it is refused, or not acked within the timeout. */
  expectAck(seq: number): Promise<MotorAck> {
    return new Promise<MotorAck>((resolve, reject) => {
      this.timers.after(this.opts.ackTimeoutMs, () => {
        this.pending.delete(seq);
        reject(new Error(`no ack from the motor board within ${this.opts.ackTimeoutMs} ms (seq ${seq})`));
      }, ackTimer(seq));
      // A wrapped seq still pending from 65536 frames ago is long dead: replace it.
      this.pending.get(seq)?.reject(new Error('superseded'));
      this.pending.set(seq, { resolve, reject });
    });
  }

  /** The ack as received, with its round trip when its frame is still remembered (else NaN). */
  ackOf(seq: number, code: number): MotorAck {
    const sent = this.sentAt.get(seq);
    const rttMs = sent === undefined ? NaN : Math.round((this.opts.now() - sent) * 100) / 100;
    this.sentAt.delete(seq);
    return { seq, code, rttMs };
  }

  /** Settles the set() or stop() waiting for this ack, if any. */
  settle(ack: MotorAck): void {
    const p = this.pending.get(ack.seq);
    if (!p) return;
    this.pending.delete(ack.seq);
    this.timers.clear(ackTimer(ack.seq));
    if (ack.code === SerialAck.applied) p.resolve(ack);
    else p.reject(new Error(`motor board refused seq ${ack.seq} (code ${ack.code})`));
  }

  failPending(err: Error): void {
    for (const [seq, p] of this.pending) { this.timers.clear(ackTimer(seq)); p.reject(err); }
    this.pending.clear();
  }

  /** A new port: whatever half line the last one left is dropped. */
  resetReader(): void { this.splitter = new LineSplitter(); }

  /** The frames in `chunk` (with what came before it), one by one; bad lines are logged and skipped. */
  *read(chunk: Buffer): Generator<DeviceFrame | HostFrame> {
    for (const line of this.splitter.push(chunk.toString('latin1'))) {
      const got = decodeSerial(line);
      if (!got.ok) {
        log.debug('bad line from the motor board', { code: got.code, error: got.error });
        continue;
      }
      yield got.frame as DeviceFrame | HostFrame;
    }
  }
}
