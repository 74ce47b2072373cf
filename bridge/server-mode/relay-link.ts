// The robot's WebSocket to the relay (`/ws/robot/<stream_key>`, Basic stream_key:stream_password).
// Reconnects by itself with backoff; finds a dead link within LINK_DEAD_MS: it pings every
// LINK_PING_MS and treats LINK_DEAD_MS without any sign of life (pong, the relay's own pings, any
// frame) as loss — a relay killed with SIGKILL behind a NAT may never send a FIN.
//
// Events: 'up' (); 'down' (reason: string, wasUp: boolean) once per lost or failed connection;
// 'frame' (RelayToRobotMessage, arrivedAt). Every incoming frame goes through the protocol's validator.
//
// Lifecycle (LINK_TRANSITIONS; to() is the only place the state changes):
//   idle → connecting (socket opening) → up (open, pinged) → retrying (socket gone, backoff pause)
//   → connecting … · stop() from any state → stopped, with every timer cleared · start() again
//   from stopped → connecting.

import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { Backoff } from '../../common/backoff.ts';
import type { Logger } from '../../common/log.ts';
import { ConnLife } from '../../common/socket-life.ts';
import { StateMachine, Timers, type Transitions } from '../../common/state-machine.ts';
import { MAX_SOCKET_BUFFERED_BYTES, MAX_TEXT_FRAME_BYTES } from '../../protocol/limits.ts';
import { parseRelayToRobot, type RobotToRelayMessage } from '../../protocol/relay.ts';
import { relayError } from './errors.ts';

export const LINK_PING_MS = 400;
export const LINK_DEAD_MS = 1500;
export const LINK_MIN_BACKOFF_MS = 250;
/** Kept low so the robot is back in server mode within a few seconds of the relay returning. */
export const LINK_MAX_BACKOFF_MS = 2000;
/** A send queue larger than this means the relay is not reading: optional frames are dropped. */
const MAX_BUFFERED = MAX_SOCKET_BUFFERED_BYTES;

export type RelayLinkState = 'idle' | 'connecting' | 'up' | 'retrying' | 'stopped';

/** Every allowed move, listed once (the drawing above). */
export const LINK_TRANSITIONS: Transitions<RelayLinkState> = {
  idle: ['connecting', 'stopped'],
  connecting: ['up', 'retrying', 'stopped'],
  up: ['retrying', 'stopped'],
  retrying: ['connecting', 'stopped'],
  stopped: ['connecting'],
};

export interface RelayLinkOptions {
  url: string;
  authorization: string;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class RelayLink extends EventEmitter {
  private ws: WebSocket | null = null;
  private readonly machine = new StateMachine<RelayLinkState>('relay link', 'idle', LINK_TRANSITIONS);
  /** The retry pause ('retry') and the liveness check ('ping'). */
  private readonly timers = new Timers();
  private readonly backoff: Backoff;
  private lastSeen = 0;
  private lastErrorText: string | null = null;
  private badFrames = 0;

  constructor(private readonly opts: RelayLinkOptions) {
    super();
    this.backoff = new Backoff({ baseMs: opts.minBackoffMs ?? LINK_MIN_BACKOFF_MS, maxMs: opts.maxBackoffMs ?? LINK_MAX_BACKOFF_MS });
  }

  get state(): RelayLinkState { return this.machine.state; }
  get isUp(): boolean { return this.machine.is('up'); }
  get lastError(): string | null { return this.lastErrorText; }
  /** Where it connects, for status and logs (no credentials: they travel in a header). */
  get url(): string { return this.opts.url; }

  start(): void {
    if (!this.machine.is('idle', 'stopped')) return;
    this.connect();
  }

  stop(): void {
    if (this.machine.is('stopped')) return;
    const wasUp = this.machine.is('up');
    this.machine.to('stopped');
    this.timers.clearAll();
    const ws = this.ws;
    this.ws = null;
    if (ws) closeGently(ws);
    if (wasUp) this.emit('down', 'stopped', true);
  }

  /** Sends a frame now; false when the link is down. `optional` frames are dropped when the relay lags. */
  send(frame: RobotToRelayMessage, optional = false): boolean {
    const ws = this.ws;
    if (!this.machine.is('up') || !ws || ws.readyState !== WebSocket.OPEN) return false;
    if (optional && ws.bufferedAmount > MAX_BUFFERED) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  private connect(): void {
    if (!this.machine.is('idle', 'stopped', 'retrying')) return;
    this.machine.to('connecting');
    const ws = new WebSocket(this.opts.url, {
      headers: { Authorization: this.opts.authorization },
      handshakeTimeout: LINK_DEAD_MS * 2,
      maxPayload: MAX_TEXT_FRAME_BYTES * 2,
      perMessageDeflate: false,
    });
    this.ws = ws;
    this.badFrames = 0;
    ws.on('unexpected-response', (_req, res) => {
      this.fail(ws, relayError({ status: res.statusCode ?? 0 }, this.opts.url));
      res.resume();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => this.fail(ws, relayError(err, this.opts.url)));
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.machine.to('up');
      this.lastErrorText = null;
      this.backoff.reset();
      this.lastSeen = Date.now();
      this.timers.every(LINK_PING_MS, () => this.checkAlive(ws), 'ping');
      this.opts.log.info('relay link up', { url: this.opts.url });
      this.emit('up');
    });
    const seen = () => { this.lastSeen = Date.now(); };
    ws.on('pong', seen);
    ws.on('ping', seen);
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      seen();
      if (isBinary) return;
      const arrivedAt = Date.now();
      const parsed = parseRelayToRobot(String(data));
      if (!parsed.ok) {
        // The relay validates too: an invalid frame here is a version skew, worth a log line, not a crash.
        if (++this.badFrames <= 5) this.opts.log.warn('invalid frame from the relay', { error: parsed.error, field: parsed.field });
        return;
      }
      this.emit('frame', parsed.value, arrivedAt);
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.fail(ws, this.machine.is('up') ? `relay closed the link (${code}${reason.length ? `: ${reason.toString().slice(0, 80)}` : ''})` : this.lastErrorText ?? `relay closed the connection (${code})`);
    });
  }

  private checkAlive(ws: WebSocket): void {
    if (this.ws !== ws) return;
    if (Date.now() - this.lastSeen > LINK_DEAD_MS) {
      this.fail(ws, `relay silent for ${LINK_DEAD_MS} ms`);
      return;
    }
    try { ws.ping(); } catch { /* closing */ }
  }

  /** One failure of the current socket: tear it down, report once, and schedule the next try. */
  private fail(ws: WebSocket, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = null;
    ws.removeAllListeners('close');
    ws.removeAllListeners('message');
    ws.on('error', () => {});
    ws.terminate();
    this.lastErrorText = reason;
    this.opts.log.warn('relay link down', { reason });
    const wasUp = this.machine.is('up');
    this.machine.to('retrying');
    this.timers.clear('ping');
    // 'down' for every failed attempt too, so the controller can show why it cannot connect.
    this.emit('down', reason, wasUp);
    // A 'down' listener may have stopped the link.
    if (!this.machine.is('retrying')) return;
    this.timers.after(this.backoff.next(), () => this.connect(), 'retry');
  }
}

/**
 * Closes a socket we no longer want with a proper close frame, and cuts it if the relay does not
 * answer within the grace (common/socket-life.ts). That timer belongs to the socket, not the link:
 * it ends with the socket.
 */
function closeGently(ws: WebSocket): void {
  ws.removeAllListeners('close');
  ws.on('error', () => {});
  new ConnLife(ws, 'open', 'relay link socket').close(1000, 'server mode stopped');
}
