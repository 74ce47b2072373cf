// One operator's WebSocket connection: identity, what it asked for (audio), and its limits
// (message rate, bad frames). Sending never queues without bound: optional traffic (telemetry,
// audio) is dropped for a socket whose buffer is backed up.

import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, MAX_MESSAGES_PER_SECOND, MAX_SOCKET_BUFFERED_BYTES } from '../../protocol/limits.ts';
import type { ErrorCode, RobotMessage } from '../../protocol/messages.ts';
import { errorFrame } from '../../common/error-frame.ts';
import { ConnLife } from '../../common/socket-life.ts';
import { TokenBucket } from '../../common/token-bucket.ts';

/** Invalid frames one connection may send before it is closed (a working app sends none). */
export const MAX_BAD_FRAMES = 20;
/** Binary (audio) frames per second: 50 for 20 ms frames, with room for jitter bursts. */
export const MAX_BINARY_FRAMES_PER_SECOND = 100;
/** A peer that does not answer the close handshake within this is cut off. */
export const SESSION_CLOSE_GRACE_MS = 2000;
/** A socket with more than this waiting is not sent optional traffic (telemetry, audio). */
export const MAX_BUFFERED_BYTES = MAX_SOCKET_BUFFERED_BYTES;

export type RateVerdict = 'ok' | 'rate_limited';

/**
 * Whoever sends client messages, as the handlers see it: a local WebSocket Session, or an operator
 * behind the relay (bridge/server-mode/relay-peer.ts). Lease, deadman, latest-wins and ttl are kept
 * per peer id, so the rules are the same whichever path the commands came by.
 */
export interface Peer {
  readonly id: string;
  name: string;
  send(message: RobotMessage): void;
  sendError(code: ErrorCode, message: string, field?: string, ref?: string): void;
  /**
   * Talk audio that does not arrive as WebSocket frames (server mode: read from MediaMTX). The
   * speaker counts as playing only while `flowing`.
   */
  readonly talkAudio?: RemoteTalk;
}

export interface RemoteTalk {
  start(): void;
  stop(): void;
  readonly flowing: boolean;
}

export class Session implements Peer {
  readonly id = `s-${randomBytes(6).toString('base64url')}`;
  name: string;
  talking = false;
  alive = true;
  badFrames = 0;
  /** Text and binary (audio) frames have separate budgets, each a second's worth of burst. */
  private readonly texts: TokenBucket;
  private readonly binaries: TokenBucket;

  /** open → closing → closed (common/socket-life.ts): closes once, and its grace timer never outlives it. */
  private readonly life: ConnLife;

  constructor(readonly ws: WebSocket, readonly wantsAudio: boolean, readonly address: string, now = Date.now()) {
    this.name = `operator ${this.id.slice(2, 6)}`;
    this.life = new ConnLife(ws, 'open', 'bridge session', SESSION_CLOSE_GRACE_MS);
    this.texts = new TokenBucket(MAX_MESSAGES_PER_SECOND, MAX_MESSAGES_PER_SECOND, now);
    this.binaries = new TokenBucket(MAX_BINARY_FRAMES_PER_SECOND, MAX_BINARY_FRAMES_PER_SECOND, now);
  }

  /** Counts one incoming frame; false when this one goes over the rate limit. */
  withinRate(binary: boolean, now = Date.now()): boolean {
    return (binary ? this.binaries : this.texts).take(now);
  }

  send(message: RobotMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(message));
  }

  /** Sends only when the socket keeps up; returns whether it was sent. */
  sendOptional(data: string | Uint8Array): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN || this.ws.bufferedAmount > MAX_BUFFERED_BYTES) return false;
    this.ws.send(data);
    return true;
  }

  sendError(code: ErrorCode, message: string, field?: string, ref?: string): void {
    this.send(errorFrame(code, message, field, ref));
  }

  /**
   * The ping rule: a socket that has not answered the previous ping (pong) by the next one is
   * dead and terminated (false); otherwise it is pinged again.
   */
  pingOrReap(): boolean {
    if (!this.alive) {
      this.ws.terminate();
      return false;
    }
    this.alive = false;
    try { this.ws.ping(); } catch { /* closing */ }
    return true;
  }

  /** Closing or closed: nothing more is sent, nor are its frames handled. */
  get closed(): boolean {
    return this.life.ending;
  }

  close(code: CloseCode, reason: string): void {
    this.life.close(code, reason);
  }
}
