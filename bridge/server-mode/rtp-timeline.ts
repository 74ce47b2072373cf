// One published track's RTP timeline, as MediaMTX will see it: continuous across encoder restarts
// and, for an encoder that can start with a backlog, never ahead of real time.
//
// Why: MediaMTX (gortsplib's rtptime.GlobalDecoder) places each track on the shared timeline by the
// arrival of its FIRST packet, then follows that track's RTP timestamps. The audio encoder stamps
// by sample count and starts with a backlog (the PCM written to its stdin while FFmpeg was
// loading, read at once), so its first packets come in a burst: the first one anchors the track and
// every later packet is ahead of real time by the backlog. Measured here: 15 packets within 2 ms,
// audio 290 ms ahead of video for the whole session, a different amount each run. Viewers pay for
// that offset: WebRTC lip sync holds the audio back by it, and the HLS muxer cuts audio segments
// that start after their video (hls.js then never starts playing). So on such a track the packets
// are dropped until they arrive paced and one arrives as fresh as any so far: the first packet
// MediaMTX sees is a live one. A later track is placed by the LATEST packet of the first (the
// leading track), so only the later track's start must be live; RtspPush makes video lead (its
// first frames, late by the encoder's start, then cannot shift the audio).
//
// A restarted encoder (new SSRC) is an epoch: its packets keep the first encoder's SSRC, their
// sequence numbers continue, and their timestamps continue from the wall clock, so MediaMTX sees
// one stream with a gap instead of a jump. A newer encoder takes over from an older one still
// running (the uplink ladder starts the new before stopping the old): once a new SSRC is seen,
// packets of the SSRCs before it are dropped, never interleaved. Left alone: a restarted VIDEO encoder's first frames are
// late by its start (73-162 ms measured), and the continued timeline keeps that much video lead
// over the audio until the publisher reconnects.

export interface RtpTimelineOptions {
  /** The track's RTP clock rate (90000 for H.264, 48000 for Opus). */
  clockRate: number;
  /** The encoder may start with a backlog (timestamps by sample count): drop until live. */
  dropBacklog?: boolean;

  /** Milliseconds, monotonic (performance.now by default). */
  now?: () => number;
  /** Longest a new encoder's packets are dropped waiting to look live, after which they pass. */
  maxWaitMs?: number;
}

/** Packets arriving this much earlier than their timestamps say are a burst, not a live stream. */
const PACE_TOLERANCE_MS = 5;
/** Consecutive paced timestamp steps before a packet may be the first forwarded. */
const PACED_STEPS = 2;
/** The first forwarded packet is at most this much older than the freshest seen in the epoch. */
const FRESH_MS = 5;

/** How many earlier encoders' SSRCs are remembered (one is ever running beside the current). */
const MAX_RETIRED = 8;

const int32 = (v: number): number => v | 0;

export class RtpTimeline {
  private readonly clockRate: number;
  private readonly dropBacklog: boolean;
  private readonly now: () => number;
  private readonly maxWaitMs: number;
  private epochSsrc: number | null = null;
  /** The epoch's first packet: when it came (its start) and its timestamp. */
  private epochRef: { at: number; ts: number } = { at: 0, ts: 0 };
  private freshest = Infinity;
  private paced = 0;
  private lastStep: { at: number; ts: number } | null = null;
  private live = false;
  private outSsrc: number | null = null;
  private tsOffset = 0;
  private seqOffset = 0;
  private lastOut: { ts: number; seq: number; at: number } | null = null;
  /** Packets dropped as an encoder's backlog, or not RTP. */
  dropped = 0;
  /** Encoders seen (1 + restarts). */
  epochs = 0;
  /** Packets of an encoder a newer one took over from, dropped. */
  superseded = 0;
  /** SSRCs of earlier encoders (the last few): their late packets are dropped. */
  private readonly retired: number[] = [];

  constructor(opts: RtpTimelineOptions) {
    if (!(Number.isInteger(opts.clockRate) && opts.clockRate > 0)) throw new RangeError(`RTP clock rate must be a positive integer, got ${opts.clockRate}`);
    this.clockRate = opts.clockRate;
    this.dropBacklog = opts.dropBacklog ?? false;
    this.now = opts.now ?? (() => performance.now());
    this.maxWaitMs = opts.maxWaitMs ?? 500;
  }

  /** Whether packets are being forwarded (false until the encoder's start is past). */
  get isLive(): boolean { return this.live; }

  /** Takes one RTP packet from the encoder; returns it rewritten (in place), or null when dropped. */
  push(pkt: Buffer): Buffer | null {
    if (pkt.length < 12 || pkt[0]! >> 6 !== 2) { this.dropped++; return null; }
    const now = this.now();
    const ssrc = pkt.readUInt32BE(8);
    const ts = pkt.readUInt32BE(4);
    if (ssrc !== this.epochSsrc) {
      if (this.retired.includes(ssrc)) { this.superseded++; return null; }
      this.newEpoch(ssrc, now, ts);
    }
    if (!this.live) {
      if (this.dropBacklog && !this.looksLive(now, ts)) { this.dropped++; return null; }
      this.goLive(pkt, now);
    }
    return this.rewrite(pkt, now);
  }

  private newEpoch(ssrc: number, now: number, ts: number): void {
    if (this.epochSsrc !== null) {
      this.retired.push(this.epochSsrc);
      if (this.retired.length > MAX_RETIRED) this.retired.shift();
    }
    this.epochSsrc = ssrc;
    this.epochs++;
    this.epochRef = { at: now, ts };
    this.freshest = Infinity;
    this.paced = 0;
    this.lastStep = null;
    this.live = false;
  }

  /** Paced for a while, and as fresh as any packet of this encoder so far. */
  private looksLive(now: number, ts: number): boolean {
    // Age against its own timestamp, relative to the epoch's first packet: backlog is old.
    const age = now - this.epochRef.at - (int32(ts - this.epochRef.ts) / this.clockRate) * 1000;
    this.freshest = Math.min(this.freshest, age);
    const step = this.lastStep;
    if (!step || ts !== step.ts) {
      if (step) {
        const dueMs = (int32(ts - step.ts) / this.clockRate) * 1000;
        this.paced = now - step.at >= dueMs - PACE_TOLERANCE_MS ? this.paced + 1 : 0;
      }
      this.lastStep = { at: now, ts };
    }
    if (now - this.epochRef.at >= this.maxWaitMs) return true;
    return this.paced >= PACED_STEPS && age <= this.freshest + FRESH_MS;
  }

  private goLive(first: Buffer, now: number): void {
    this.live = true;
    const seq = first.readUInt16BE(2);
    const ts = first.readUInt32BE(4);
    if (this.lastOut === null) {
      this.outSsrc = this.epochSsrc;
      this.tsOffset = 0;
      this.seqOffset = 0;
    } else {
      const wallTicks = Math.round(((now - this.lastOut.at) / 1000) * this.clockRate);
      const target = (this.lastOut.ts + Math.max(1, wallTicks)) >>> 0;
      this.tsOffset = (target - ts) >>> 0;
      this.seqOffset = (this.lastOut.seq + 1 - seq) & 0xffff;
    }
  }

  private rewrite(pkt: Buffer, at: number): Buffer {
    const ts = (pkt.readUInt32BE(4) + this.tsOffset) >>> 0;
    const seq = (pkt.readUInt16BE(2) + this.seqOffset) & 0xffff;
    pkt.writeUInt32BE(ts, 4);
    pkt.writeUInt16BE(seq, 2);
    pkt.writeUInt32BE(this.outSsrc!, 8);
    this.lastOut = { ts, seq, at };
    return pkt;
  }
}
