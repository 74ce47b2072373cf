// Writing frames to sockets: the bound on what one socket may have queued (a slow consumer is
// dropped, not buffered for), and the corking that makes every frame written to a socket in one
// turn of the event loop leave in one write(2) — on loopback most of the relay's time is the
// kernel's work per write, so this is the relay's largest saving under load.
import type { Duplex } from 'node:stream';
import type { Logger } from '../../common/log.ts';
import type { ErrorCode, RobotMessage } from '../../protocol/messages.ts';
import { errorFrame } from '../../common/error-frame.ts';
import { RelayCloseCode, type RelayToClientMessage, type RelayToRobotMessage } from '../../protocol/relay.ts';
import type { Conn } from './connection.ts';
import type { RelayLimits } from './limits.ts';
import type { Metrics } from './metrics.ts';

export type Frame = RobotMessage | RelayToClientMessage | RelayToRobotMessage;

export class Delivery {
  /** Sockets written to in this turn of the event loop; uncorked by flush() in the check phase. */
  private readonly corked = new Set<Duplex>();
  private flushQueued = false;

  /** `afterFlush` runs once per flush: work batched per turn (the client gauge) rides along. */
  constructor(
    private readonly limits: RelayLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly afterFlush: () => void,
  ) {}

  /** Sends with a bound: a socket that has too much queued is a slow consumer and is dropped. */
  send(conn: Conn, frame: Frame | string): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    if (conn.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.metrics.refused.inc({ code: 'slow_consumer' });
      this.log.warn('slow consumer dropped', { robot: conn.robot, buffered: conn.ws.bufferedAmount });
      conn.life.close(RelayCloseCode.slowConsumer, 'too slow');
      return false;
    }
    this.cork(conn.raw);
    conn.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  }

  /** Counted as refused (metrics) and answered with an error frame. */
  refuse(conn: Conn, code: ErrorCode, message: string, field?: string, ref?: string): void {
    this.metrics.refused.inc({ code });
    this.send(conn, errorFrame(code, message, field, ref));
  }

  /**
   * Holds a socket's writes until the event loop has handled everything that was ready (setImmediate
   * runs right after the poll phase): frames to one socket then leave in one write(2), not one each.
   * Under light load the turn is one event and nothing waits; under heavy load the saving is largest.
   */
  cork(raw: Duplex): void {
    if (this.corked.has(raw)) return;
    raw.cork();
    this.corked.add(raw);
    this.queueFlush();
  }

  queueFlush(): void {
    if (!this.flushQueued) { this.flushQueued = true; setImmediate(this.flush); }
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    for (const raw of this.corked) raw.uncork();
    this.corked.clear();
    this.afterFlush();
  };
}
