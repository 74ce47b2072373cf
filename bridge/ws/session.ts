// One operator's WebSocket connection: identity, what it asked for (audio), and its limits
// (message rate, bad frames). Sending never queues without bound: optional traffic (telemetry,
// audio) is dropped for a socket whose buffer is backed up.

import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, MAX_MESSAGES_PER_SECOND, MAX_SOCKET_BUFFERED_BYTES } from '../../protocol/limits.ts';
import { msg, type ErrorCode, type ErrorMsg, type RobotMessage } from '../../protocol/messages.ts';

/** Invalid frames one connection may send before it is closed (a working app sends none). */
export const MAX_BAD_FRAMES = 20;
/** Binary (audio) frames per second: 50 for 20 ms frames, with room for jitter bursts. */
export const MAX_BINARY_FRAMES_PER_SECOND = 100;
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

class WindowCounter {
  private windowStart = 0;
  private count = 0;
  constructor(private limit: number) {}
  hit(now: number): boolean {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= this.limit;
  }
}

export class Session implements Peer {
  readonly id = `s-${randomBytes(6).toString('base64url')}`;
  name: string;
  talking = false;
  alive = true;
  badFrames = 0;
  closed = false;
  private texts = new WindowCounter(MAX_MESSAGES_PER_SECOND);
  private binaries = new WindowCounter(MAX_BINARY_FRAMES_PER_SECOND);

  constructor(readonly ws: WebSocket, readonly wantsAudio: boolean, readonly address: string) {
    this.name = `operator ${this.id.slice(2, 6)}`;
  }

  /** Counts one incoming frame; false when this one goes over the rate limit. */
  withinRate(binary: boolean, now = Date.now()): boolean {
    return binary ? this.binaries.hit(now) : this.texts.hit(now);
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
    const body: Omit<ErrorMsg, 'v'> = { type: 'error', code, message: message.slice(0, 500) };
    if (field) body.field = field.slice(0, 100);
    if (ref) body.ref = ref.slice(0, 100);
    this.send(msg<ErrorMsg>(body));
  }

  close(code: CloseCode, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason.slice(0, 120));
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}
