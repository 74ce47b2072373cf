// The network emulator's TypeScript side: the profile shapes field/wire (Go) reads, the build of
// its binary, and a client for a running wire's control socket (counters, "down now for N s").
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

/** One way of a link. The JSON names are the Go wire's (field/wire/profile.go). */
export interface Direction {
  delayMs?: number;
  /** Standard deviation of a normal delay variation, ms. */
  jitterMs?: number;
  /** Let jitter reorder packets (off: each direction stays in order, as one radio bearer does). */
  reorder?: boolean;
  /** Independent random loss, %. */
  lossPct?: number;
  /** Gilbert-Elliott bursty loss on top: per packet Good↔Bad, then loss at the state's rate. */
  burst?: { pGoodToBad: number; pBadToGood: number; lossInGoodPct?: number; lossInBadPct: number };
  /** Throughput cap (0/absent: none), with a drop-tail queue of queueBytes (default 200 ms of the rate). */
  rateKbps?: number;
  queueBytes?: number;
}

/** The link down (both ways) for forMs, atMs after the profile is applied. */
export interface Outage { atMs: number; forMs: number }

/** A link as the wire applies it: a is the edge (robot or phone), b the server; aToB is the uplink. */
export interface WireProfile {
  aToB?: Direction;
  bToA?: Direction;
  outages?: Outage[];
  seed?: number;
}

/** One direction's counters, from the wire itself. */
export interface DirectionCounters {
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
  dropLoss: number;
  dropQueue: number;
  dropOutage: number;
  /** The fullest the rate cap's queue has been, bytes. */
  maxQueueBytes: number;
}

export interface WireStats { aToB: DirectionCounters; bToA: DirectionCounters; down: boolean }

/** The havatar-wire binary, built once into the cache (field/build-wire.sh). */
export function wireBinary(): string {
  const r = spawnSync('bash', [new URL('./build-wire.sh', import.meta.url).pathname], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the network emulator is not available:\n${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!;
}

/** A running wire's control socket: one command per line, one JSON answer per line. */
export class WireControl {
  constructor(readonly socketPath: string) {}

  private async send(line: string): Promise<Record<string, unknown>> {
    const sock = connect(this.socketPath);
    try {
      const answer = new Promise<string>((resolve, reject) => {
        sock.once('error', reject);
        createInterface({ input: sock }).once('line', resolve);
      });
      sock.write(`${line}\n`);
      const reply = JSON.parse(await answer) as Record<string, unknown>;
      if (reply.ok !== true) throw new Error(`wire refused "${line.split(' ')[0]}": ${String(reply.error)}`);
      return reply;
    } finally {
      sock.destroy();
    }
  }

  async stats(): Promise<WireStats> {
    const r = await this.send('stats');
    return { aToB: r.aToB as DirectionCounters, bToA: r.bToA as DirectionCounters, down: r.down === true };
  }

  /** Takes the link down now, both ways, for `ms`. */
  async down(ms: number): Promise<void> { await this.send(`down ${ms}`); }
  /** Ends a down period early. */
  async up(): Promise<void> { await this.send('up'); }
  /** Replaces the impairments (counters kept); its outage schedule counts from now. */
  async apply(profile: WireProfile): Promise<void> { await this.send(`profile ${JSON.stringify(profile)}`); }
}
