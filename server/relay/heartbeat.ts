// Dead sockets: every socket is pinged each pingIntervalMs and terminated after deadAfterMs of
// silence, so a vanished driver's lease and a vanished robot's clients are dealt with within 2 s.
import type { Logger } from '../../common/log.ts';
import type { Connections, Conn, HubClock } from './connection.ts';
import type { Delivery } from './delivery.ts';
import type { RelayLimits } from './limits.ts';
import type { Metrics } from './metrics.ts';

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  /** When beat() last ran (a late run means the relay itself was not listening). */
  private lastBeat: number;
  private skippedReap = false;

  constructor(
    private readonly conns: Connections,
    private readonly delivery: Delivery,
    private readonly limits: RelayLimits,
    private readonly clock: HubClock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.lastBeat = clock.now();
    this.timer = setInterval(() => this.beat(), limits.pingIntervalMs);
  }

  /** A pong is a sign of life like any frame. */
  watch(conn: Conn): void {
    conn.ws.on('pong', () => { conn.lastSeen = this.clock.now(); });
  }

  /**
   * Pings every socket silent long enough to be reaped within the next two heartbeats
   * (deadAfterMs − 2 × pingIntervalMs: 700 ms), so a quiet live peer gets at least two pings and
   * 800 ms for a pong before it is judged; a socket that sends anything more often (a viewer's
   * 500 ms heartbeat, a driver's drive) is never pinged. Measured with bench/relay/capacity.ts
   * (`--cpu-prof`) at 1,000 robots / 5,000 clients: pinging whatever was silent for half an
   * interval pinged 4,000 viewers at most heartbeats (~6,000 pings and as many pongs a second), and
   * write(2) of those one-frame pings was the largest single cost in the profile (19 % of the
   * relay's busy time). Then reaps the ones silent for deadAfterMs — in the check phase, after
   * the poll phase has read whatever already arrived: judged in the timer phase, a relay whose own
   * event loop was late (a loaded machine) still held its peers' pongs and frames unread and
   * terminated live sockets. A turn that itself comes late (the relay was not listening, nor
   * pinging) only pings, once: the next one reaps.
   */
  private beat(): void {
    const now = this.clock.now();
    const gap = now - this.lastBeat;
    const late = gap > 2 * this.limits.pingIntervalMs && !this.skippedReap;
    this.lastBeat = now;
    this.skippedReap = late;
    const quietMs = Math.max(this.limits.pingIntervalMs / 2, this.limits.deadAfterMs - 2 * this.limits.pingIntervalMs);
    const all = this.conns.all();
    for (const c of all) {
      if (c.ws.readyState === c.ws.OPEN && now - c.lastSeen >= quietMs) {
        this.delivery.cork(c.raw);
        c.ws.ping();
      }
    }
    if (!late) setImmediate(() => this.reap(all, gap));
  }

  private reap(all: Conn[], beatGapMs: number): void {
    const now = this.clock.now();
    for (const c of all) {
      if (c.ws.readyState === c.ws.CLOSED || now - c.lastSeen <= this.limits.deadAfterMs) continue;
      this.metrics.refused.inc({ code: 'heartbeat_timeout' });
      const kind = c === this.conns.robots.get(c.robot) ? 'robot' : 'client';
      this.log.warn('dead socket closed', { robot: c.robot, kind, silentMs: now - c.lastSeen, beatGapMs });
      c.ws.terminate();
    }
  }

  stop(): void { clearInterval(this.timer); }
}
