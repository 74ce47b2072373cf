// Every limit the relay enforces, named once (the wire's own limits are in protocol/limits.ts).
import { MAX_MESSAGES_PER_SECOND, MAX_SOCKET_BUFFERED_BYTES } from '../../protocol/limits.ts';

export const RelayLimits = {
  /** Commands per second per connection (token bucket refill) and the burst it may save up. */
  messagesPerSecond: MAX_MESSAGES_PER_SECOND,
  messageBurst: MAX_MESSAGES_PER_SECOND,
  /** A connection refused this many times in a row for rate is closed (CloseCode.rateLimited). */
  rateStrikes: 20,
  /** Ping this often; a socket without a pong for deadAfterMs is terminated (<= 2 s in all). */
  pingIntervalMs: 400,
  deadAfterMs: 1500,
  /** Bytes queued to one socket before it counts as a slow consumer and is dropped. */
  maxBufferedBytes: MAX_SOCKET_BUFFERED_BYTES,
  /**
   * A robot's publish credential (publish-credential.ts) opens media sessions this long; the relay
   * sends a fresh one at half of it while the robot's link is up.
   */
  publishCredentialTtlMs: 10 * 60_000,
  /** Session tokens live this long; the app refreshes before expiry. */
  sessionTtlMs: 15 * 60_000,
  /** Longest an invite link may stay valid, and its default. */
  maxInviteTtlMs: 30 * 24 * 3600_000,
  defaultInviteTtlMs: 24 * 3600_000,
  /** The driver lease lapses after this long without a drive/motor/heartbeat from the driver. */
  leaseIdleMs: 10_000,
  /** Failed logins per address: window, the count that locks the address, and the brake. */
  authFailWindowMs: 60_000,
  authFailLockAfter: 20,
  authFailBaseDelayMs: 100,
  authFailMaxDelayMs: 3_200,
  /** Health checks of MediaMTX / Redis give up after this long. */
  healthTimeoutMs: 1_000,
  /** With Redis: how long a relay's claim to host a robot lasts unless refreshed (every second). */
  hostTtlMs: 3_000,
  /** Clients per robot (viewers + driver). */
  maxClientsPerRobot: 32,
  /** How often recordings are checked against MediaMTX and the recordings disk's floor (recording.ts). */
  recordingCheckMs: 5_000,
} as const;
export type RelayLimits = { -readonly [K in keyof typeof RelayLimits]: number };

/**
 * Overrides from JSON (env RELAY_LIMITS, e.g. '{"leaseIdleMs":800}'): known keys, positive
 * numbers only. Tests use it to shorten waits; operators can tune a deployment.
 */
export function parseLimitOverrides(json: string | undefined): Partial<RelayLimits> {
  if (!json) return {};
  const v = JSON.parse(json) as unknown;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('RELAY_LIMITS must be a JSON object');
  const out: Partial<RelayLimits> = {};
  for (const [k, n] of Object.entries(v)) {
    if (!Object.hasOwn(RelayLimits, k)) throw new Error(`RELAY_LIMITS: unknown limit ${k}`);
    if (typeof n !== 'number' || !(n > 0)) throw new Error(`RELAY_LIMITS: ${k} must be a positive number`);
    out[k as keyof RelayLimits] = n;
  }
  return out;
}
