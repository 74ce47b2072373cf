// Every limit the wire enforces, named once. The bridge, the relay and the app import these;
// docs/API_REFERENCE.md lists them. Keep them small: a robot is a small machine.

export const PROTOCOL_VERSION = 1;

/** Largest JSON text frame accepted on any WebSocket, in bytes. */
export const MAX_TEXT_FRAME_BYTES = 4096;
/** Largest binary (audio) frame accepted on any WebSocket, in bytes. */
export const MAX_BINARY_FRAME_BYTES = 4096;
/** Largest HTTP JSON body accepted, in bytes. */
export const MAX_HTTP_BODY_BYTES = 16 * 1024;
/** Longest text the robot will speak. */
export const MAX_TTS_CHARS = 500;
/** Longest free-text identifier (names, ids) carried in a message. */
export const MAX_ID_CHARS = 64;

/** A drive command older than its ttl is dropped, never applied late. */
export const DEFAULT_DRIVE_TTL_MS = 300;
export const MAX_DRIVE_TTL_MS = 1000;
/** The driver's app sends a drive or heartbeat at least this often while driving. */
export const DRIVER_SEND_INTERVAL_MS = 50;
export const MAX_DRIVER_SILENCE_MS = 100;
/** The bridge stops the motors when the driver is silent this long (configurable). */
export const DEFAULT_DEADMAN_MS = 250;
/** The ESP32 stops by itself after this long without a valid motor frame. */
export const ESP32_WATCHDOG_MS = 500;
/** The bridge refreshes the ESP32 with the current target this often (well inside the watchdog). */
export const SERIAL_REFRESH_MS = 100;

/** A socket with more than this waiting to be sent gets no optional traffic (telemetry, audio). */
export const MAX_SOCKET_BUFFERED_BYTES = 256 * 1024;

/**
 * MediaMTX's standard ports, used wherever nothing else is configured: the app's default media
 * URLs, the relay's, the robot's RTSP address, the launcher and the generated MediaMTX config.
 */
export const MEDIAMTX_PORTS = { rtsp: 8554, rtsps: 8322, webrtc: 8889, webrtcUdp: 8189, hls: 8888, api: 9997, metrics: 9998, playback: 9996 } as const;
/** The relay's standard port. */
export const RELAY_PORT = 3000;

/** Commands per second one connection may send before it is refused (drive at 30 Hz fits easily). */
export const MAX_MESSAGES_PER_SECOND = 60;

/** Audio carried over the local WebSocket: see protocol/audio.ts. */
export const AUDIO_SAMPLE_RATE = 16000;
export const AUDIO_FRAME_MS = 20;

/** WebSocket close codes (4000-4999 are ours). One code per reason. */
export const CloseCode = {
  unauthorized: 4001,
  badMessage: 4004,
  rateLimited: 4008,
  replaced: 4011,
  shuttingDown: 4012,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
