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

/**
 * A server's text frame (RFC 6455 5.2: FIN, opcode 1, no mask) in one Buffer: what ws.send writes
 * as a header and a payload apart, after two option objects, per frame. Measured with the
 * closed-loop relay harness (docs/PERFORMANCE.md, "What limits the relay").
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(head + length);
  buf[0] = 0x81;
  if (head === 2) buf[1] = length;
  else if (head === 4) { buf[1] = 126; buf.writeUInt16BE(length, 2); }
  else { buf[1] = 127; buf.writeUInt32BE(0, 2); buf.writeUInt32BE(length, 6); }
  buf.write(text, head, 'utf8');
  return buf;
}

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
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    // Without permessage-deflate (the relay's server does not offer it) ws writes every frame at
    // once, so a frame written here keeps its place among ws's own (pings, close).
    if (conn.ws.extensions) conn.ws.send(text);
    else conn.raw.write(textFrame(text));
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
