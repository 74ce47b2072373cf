// The message rate limits: a token bucket per socket (common/token-bucket.ts, made in
// Connections.fresh). A client gets messagesPerSecond with a burst of messageBurst, and is closed
// after rateStrikes refusals in a row; the robot answers for every client in its room, so its
// bucket grows with the room and its extra frames are dropped.
import type { Conn, HubClock } from './connection.ts';
import type { RelayLimits } from './limits.ts';

/** `close`: refused, and the socket has used up its strikes. */
export type Verdict = 'pass' | 'refuse' | 'close';

export class RateLimiter {
  constructor(private readonly limits: RelayLimits, private readonly clock: HubClock) {}

  client(conn: Conn): Verdict {
    if (conn.bucket.take(this.clock.mono())) { conn.strikes = 0; return 'pass'; }
    return ++conn.strikes >= this.limits.rateStrikes ? 'close' : 'refuse';
  }

  /** The robot sends telemetry for many clients: its bucket is the client rate times the room. */
  robot(conn: Conn, clients: number): boolean {
    const rate = this.limits.messagesPerSecond * Math.max(4, 2 * clients + 2);
    return conn.bucket.take(this.clock.mono(), rate, rate);
  }
}
