// Server mode's lifecycle, as the API reports it (GET /server/status `state`), and the shapes the
// controller shares with its parts. Every allowed move is listed once (SERVER_TRANSITIONS):
//
//   off → connecting (link and publisher starting) → live (relay link up AND the stream really
//   sending) → fallback (link or stream lost: local mode untouched, both retry by themselves) →
//   live … · a failure before ever being live: connecting → fallback (never back to connecting)
//   · stop(), a restart, or any failure with fallback_to_local off: connecting | live |
//   fallback → stopping (teardown) → off.

import type { Logger } from '../../common/log.ts';
import type { Transitions } from '../../common/state-machine.ts';
import type { Hardware } from '../hardware/parts.ts';
import type { Lease } from '../safety/lease.ts';
import type { WsGateway } from '../ws/gateway.ts';
import type { ServerModeConfig } from './endpoints.ts';

export type ServerState = 'off' | 'connecting' | 'live' | 'fallback' | 'stopping';

export const SERVER_TRANSITIONS: Transitions<ServerState> = {
  off: ['connecting'],
  connecting: ['live', 'fallback', 'stopping'],
  live: ['fallback', 'stopping'],
  fallback: ['live', 'stopping'],
  stopping: ['off'],
};

/** GET /server/status's `status` and /system_status's `server` (never the password). */
export interface ServerStatus {
  state: ServerState;
  /** Date.now() of the last state change. */
  since: number;
  last_error: string | null;
  relay_connected: boolean;
  publishing: boolean;
  bitrate_kbps: number;
  fps: number;
  /**
   * The published video's step on the uplink ladder (bridge/server-mode/uplink-policy.ts): 0 is
   * the configured video; `reason` says why this step (the uplink congested, or room again);
   * `adaptive` false when the camera's own H.264 is sent as it is. null when not publishing.
   */
  video_uplink: { step: number; of: number; name: string; reason: string; since: number; queue_ms: number; kbps: number; fps: number; width: number; height: number; adaptive: boolean } | null;
  /** Operators connected through the relay (its client join/leave). */
  viewers: number;
  server_url: string;
  stream_key: string;
  rtsp_url: string;
  enabled: boolean;
  fallback_to_local: boolean;
  /** Who talks through the server now, and whether their audio is flowing to the speaker. */
  talk: { by: string | null; flowing: boolean; mic_ducked: boolean };
  /**
   * Whether the server records this robot's camera now, since when (relay clock, ms) and on whose
   * word: the relay's `recording` frame, so whoever looks at the robot can tell it is recorded.
   */
  recording: { active: boolean; since: number | null; by: string | null };
  // v1's keys (its server_client.get_status()), kept so v1 scripts polling them keep working;
  // docs/MIGRATION.md says where their timing differs from v1's.
  /** v1: started and not stopped (`state` connecting, live or fallback). */
  server_mode_enabled: boolean;
  /** v1: the relay's command link is up (same as `relay_connected`). */
  connected_to_server: boolean;
  /** v1: the video encoder is sending to MediaMTX (same as `publishing`). */
  video_streaming: boolean;
  /** v1: the audio encoder is sending to MediaMTX (false without a microphone). */
  audio_streaming: boolean;
}

/** v1's `server_mode_enabled`: server mode was started and not stopped, whether or not it is live now. */
export const isServerModeOn = (state: ServerState): boolean => state === 'connecting' || state === 'live' || state === 'fallback';

export interface ServerModeDeps {
  config: () => ServerModeConfig;
  gateway: WsGateway;
  lease: Lease;
  hardware: Hardware;
  log: Logger;
}

export type StartResult = { ok: true } | { ok: false; field?: string; msg: string };
