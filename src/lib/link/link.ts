// What the app needs from a connection to the robot, whichever path it takes: local mode's
// WebSocket (ws-link.ts) and server mode's relay link (relay-link.ts) both implement it, so views
// and the command queue never know which one they talk through.

import type { AudioFrame } from '../../../protocol/audio.ts';
import type { ClientMessage, RecordingMsg, RobotMessage, WelcomeMsg } from '../../../protocol/messages.ts';
import type { ClockOffset } from './clock.ts';

/**
 * idle: never started · connecting: socket opening / waiting for welcome · live: welcome received,
 * answers on time · degraded: answers late or missing (driving stops) · lost: socket gone, a retry
 * is scheduled · closed: stopped on purpose or refused (bad token): no retry until started again.
 */
export type LinkState = 'idle' | 'connecting' | 'live' | 'degraded' | 'lost' | 'closed';

export interface LinkStatus {
  state: LinkState;
  /** Why the link is in this state, in words for the operator (null when live). */
  reason: string | null;
  /** When the next reconnect attempt happens (Date.now() ms), while lost. */
  retryAt: number | null;
}

export interface LinkEvents extends Record<string, unknown> {
  status: LinkStatus;
  message: RobotMessage;
  audio: AudioFrame;
  /** A line for the app's connection log. */
  log: string;
}

export interface Link {
  readonly kind: 'local' | 'relay';
  readonly status: LinkStatus;
  readonly welcome: WelcomeMsg | null;
  /**
   * The last word on the server recording the robot heard on this socket (null until said, and once
   * it drops): a switch onto a link that is already live replays only its welcome, so this is read back.
   */
  readonly recording?: RecordingMsg | null;
  /** Heartbeat round trip, ms (null until measured). */
  readonly heartbeatRttMs: number | null;
  readonly clock: ClockOffset;
  start(): void;
  stop(reason?: string): void;
  /** Sends now or returns false; a link never queues (the command queue decides what may wait). */
  send(message: ClientMessage): boolean;
  sendBinary(frame: Uint8Array): boolean;
  on<K extends keyof LinkEvents>(type: K, fn: (value: LinkEvents[K]) => void): () => void;
}

export const isUsable = (s: LinkState): boolean => s === 'live' || s === 'degraded';
