// The welcome an operator gets on connecting, built in one place for both ways in: the bridge's
// own /ws and the relay. Its limits are the robot's real ones (the deadman is a robot setting,
// safety.deadman_ms): the bridge builds them from its config, and sends the same limits to the
// relay in its own welcome over the relay link, which the relay keeps for that robot's operators.
import { AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE, DEFAULT_DEADMAN_MS, DRIVER_SEND_INTERVAL_MS, MAX_DRIVE_TTL_MS } from '../protocol/limits.ts';
import { msg, type AudioFormat, type WelcomeMsg } from '../protocol/messages.ts';

export type DriveLimits = WelcomeMsg['limits'];

export const AUDIO_FORMAT: AudioFormat = { format: 'pcm_s16le', rate: AUDIO_SAMPLE_RATE, channels: 1, frameMs: AUDIO_FRAME_MS };

/** The drive limits of a robot whose deadman is `deadmanMs`. */
export function driveLimits(deadmanMs: number): DriveLimits {
  return { deadmanMs, maxTtlMs: MAX_DRIVE_TTL_MS, sendIntervalMs: DRIVER_SEND_INTERVAL_MS };
}

/** What a relay assumes until the robot has told it its own (the protocol's default deadman). */
export const DEFAULT_DRIVE_LIMITS: DriveLimits = driveLimits(DEFAULT_DEADMAN_MS);

export interface WelcomeFor {
  /** The connection's id, as the operator will see itself named (driver, talk_state.by). */
  session: string;
  robot: string;
  driver: string | null;
  limits: DriveLimits;
  /** The sender's clock, for the app's clock-offset estimate. */
  now?: number;
}

export function welcomeMsg(w: WelcomeFor): WelcomeMsg {
  return msg<WelcomeMsg>({
    type: 'welcome', session: w.session, robot: w.robot, driver: w.driver,
    audio: AUDIO_FORMAT, limits: { ...w.limits }, serverTime: w.now ?? Date.now(),
  });
}
