// The one message protocol: every JSON frame between the app, the bridge and the relay is defined
// here, as a `{ v, type, ... }` union, with one validator per message. Nothing on either side of a
// wire trusts a frame that has not been through `parseClientMessage` / `parseRobotMessage`.

import { bool, checkFields, int, isRecord, num, nullable, oneOf, optional, str, type Checker } from './check.ts';
import {
  MAX_DRIVE_TTL_MS,
  MAX_ID_CHARS,
  MAX_TEXT_FRAME_BYTES,
  MAX_TTS_CHARS,
  PROTOCOL_VERSION,
} from './limits.ts';
import { fail, ok, type Result } from './result.ts';

/** A robot id: also a MediaMTX path segment (`robots/<id>`, `robots/<id>/talk`). */
export const ROBOT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const DIRECTIONS = ['forward', 'backward', 'left', 'right', 'stop'] as const;
export type Direction = (typeof DIRECTIONS)[number];
export type Role = 'driver' | 'viewer';

// ---- app → robot (directly in local mode, through the relay in server mode) -------------------

/** Differential drive: each track's speed in [-1, 1]. Latest wins; dropped once `ttl` has passed. */
export interface DriveMsg {
  v: 1; type: 'drive';
  /** Increases with every drive/motor command from one session; an older seq is superseded. */
  seq: number;
  left: number; right: number;
  /** Milliseconds after receipt (or after `t` where clocks agree) the command stays valid. */
  ttl: number;
  /** Sender's clock (ms), echoed in the ack for round-trip time. */
  t: number;
}
/** v1's direction command (docs/MIGRATION.md), speed 0..255. Same latest-wins and ttl rules as drive. */
export interface MotorMsg {
  v: 1; type: 'motor'; seq: number; direction: Direction; speed: number; ttl: number; t: number;
}
/** Stop now. Accepted from any operator: the stop button must always work. */
export interface StopMsg { v: 1; type: 'stop'; seq?: number; t?: number }
/**
 * Keeps the driver's deadman fed while the stick is held still; echoed as heartbeat_ack. `rtt`:
 * the sender's latest heartbeat round trip to the robot (ms), half of which the robot counts as
 * the one-way transit of the sender's messages, so its deadman runs from when they were sent.
 */
export interface HeartbeatMsg { v: 1; type: 'heartbeat'; t: number; rtt?: number }
/** take: become the driver if nobody is; release: stop driving; request: ask the driver to hand over. */
export interface LeaseMsg { v: 1; type: 'lease'; action: 'take' | 'release' | 'request' }
export interface TtsMsg { v: 1; type: 'tts'; id: string; text: string }
/** Push-to-talk framing: binary audio frames (protocol/audio.ts) follow a start, end at stop. */
export interface TalkMsg { v: 1; type: 'talk'; action: 'start' | 'stop' }
/** Opening message: who the operator says they are (shown to others), and the role they want. */
export interface HelloMsg { v: 1; type: 'hello'; name?: string; want?: Role }

export type ClientMessage = DriveMsg | MotorMsg | StopMsg | HeartbeatMsg | LeaseMsg | TtsMsg | TalkMsg | HelloMsg;

// ---- robot → app ----------------------------------------------------------------------------

export interface AudioFormat { format: 'pcm_s16le'; rate: number; channels: 1; frameMs: number }
export interface WelcomeMsg {
  v: 1; type: 'welcome';
  session: string;
  robot: string;
  driver: string | null;
  audio: AudioFormat;
  limits: { deadmanMs: number; maxTtlMs: number; sendIntervalMs: number };
  /** Robot clock (ms) when sent, so the app can estimate clock offset. */
  serverTime: number;
}
export const ACK_RESULTS = ['applied', 'expired', 'superseded', 'refused'] as const;
export type AckResult = (typeof ACK_RESULTS)[number];
export interface AckMsg {
  v: 1; type: 'ack'; seq: number; t: number; result: AckResult; reason?: string;
  /** When applied: the round trip to the motor board ($M → $A) in ms, so the app can tell link from serial delay. */
  serialRttMs?: number;
}
/** Why the robot's video is below full quality: telemetry's `video`. */
export interface VideoNote { step: number; of: number; name: string; reason: string }
export interface HeartbeatAckMsg { v: 1; type: 'heartbeat_ack'; t: number }
export interface Battery { voltage: number; percentage: number }
export interface TelemetryMsg {
  v: 1; type: 'telemetry';
  battery: Battery;
  /** What the motors are doing now, each in [-1, 1]. */
  motors: { left: number; right: number };
  /** False while the ESP32 is not answering. */
  serial: boolean;
  /** Simulator only: where the robot thinks it is. */
  pose?: { x: number; y: number; heading: number };
  /**
   * Server mode: the robot's published video is stepped down to fit its uplink (step 1..of-1 of
   * the ladder in bridge/server-mode/uplink-policy.ts), with why. Absent at full quality.
   */
  video?: VideoNote;
  ts: number;
}
export interface LeaseStateMsg {
  v: 1; type: 'lease';
  driver: string | null;
  driverName: string | null;
  you: boolean;
  /** Set when another session asked the driver to hand over. */
  requestedBy?: string;
}
export const STOP_REASONS = ['command', 'deadman', 'disconnect', 'lease_released', 'serial_lost', 'shutdown', 'hidden', 'link_degraded'] as const;
export type StopReason = (typeof STOP_REASONS)[number];
export interface StoppedMsg { v: 1; type: 'stopped'; reason: StopReason; by?: string; at: number }
export interface TtsResultMsg { v: 1; type: 'tts_result'; id: string; ok: boolean; error?: string }
export interface TalkStateMsg { v: 1; type: 'talk_state'; speaker: 'idle' | 'playing'; by: string | null }
export const ERROR_CODES = [
  'bad_json', 'bad_message', 'unsupported_version', 'too_large', 'not_driver', 'lease_held',
  'rate_limited', 'unauthorized', 'forbidden', 'busy', 'unavailable', 'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
export interface ErrorMsg { v: 1; type: 'error'; code: ErrorCode; message: string; field?: string; ref?: string }

/** Why a recording ended: someone asked, the server's disk fell below its floor, or MediaMTX lost it (a restart). */
export const RECORDING_STOP_REASONS = ['request', 'disk_low', 'lost'] as const;
export type RecordingStopReason = (typeof RECORDING_STOP_REASONS)[number];

/**
 * Is the robot's camera being recorded on the server (MediaMTX), since when and on whose word.
 * The relay says it (protocol/relay.ts: to its apps and to the robot, on join and on every change);
 * the bridge passes the relay's word on to its local operators in the same frame, so whoever
 * watches, by either path, can see they are being recorded. Declared here because it is also a
 * robot → app frame; only the relay may send it to apps through the relay.
 */
export interface RecordingMsg {
  v: 1; type: 'recording'; robot: string;
  /** This server can record at all (MediaMTX's API and a recordings disk are configured). */
  available: boolean;
  active: boolean;
  /** When recording began (relay clock, ms), null when not recording. */
  since: number | null;
  /** Who started it: the driver's name or client id, `admin`; null when not known (or not recording). */
  by: string | null;
  /** Set on the frame that tells of a stop. */
  stopped?: RecordingStopReason;
}

export type RobotMessage =
  | WelcomeMsg | AckMsg | HeartbeatAckMsg | TelemetryMsg | LeaseStateMsg | StoppedMsg | TtsResultMsg
  | TalkStateMsg | ErrorMsg | RecordingMsg;

// ---- validators ----------------------------------------------------------------------------

const V: Checker = (v) => (v === PROTOCOL_VERSION ? null : `must be ${PROTOCOL_VERSION}`);
const SEQ = int(0, 2 ** 32 - 1);
const CLOCK = num(0, 2 ** 53);
const TTL = int(1, MAX_DRIVE_TTL_MS);
const UNIT = num(-1, 1);
const ID = str(1, MAX_ID_CHARS, /^[\w.:@-]+$/);
const NAME = str(1, MAX_ID_CHARS);

export type Spec = Parameters<typeof checkFields>[1];

const clientSpecs: Record<ClientMessage['type'], Spec> = {
  drive: { v: V, type: oneOf('drive'), seq: SEQ, left: UNIT, right: UNIT, ttl: TTL, t: CLOCK },
  motor: { v: V, type: oneOf('motor'), seq: SEQ, direction: oneOf(...DIRECTIONS), speed: int(0, 255), ttl: TTL, t: CLOCK },
  stop: { v: V, type: oneOf('stop'), seq: optional(SEQ), t: optional(CLOCK) },
  heartbeat: { v: V, type: oneOf('heartbeat'), t: CLOCK, rtt: optional(num(0, 60000)) },
  lease: { v: V, type: oneOf('lease'), action: oneOf('take', 'release', 'request') },
  tts: { v: V, type: oneOf('tts'), id: ID, text: str(1, MAX_TTS_CHARS) },
  talk: { v: V, type: oneOf('talk'), action: oneOf('start', 'stop') },
  hello: { v: V, type: oneOf('hello'), name: optional(NAME), want: optional(oneOf('driver', 'viewer')) },
};

/**
 * A nested object checked against its own spec, built once here (not per frame: a robot's
 * telemetry crosses the relay to every client, and checkFields reads each spec object once).
 */
const object = (spec: Spec, then?: (o: Record<string, unknown>) => string | null): Checker => (v) => {
  if (!isRecord(v)) return 'must be an object';
  const p = checkFields(v, spec);
  if (p) return `${p.field} ${p.error}`;
  return then ? then(v) : null;
};
const battery = object({ voltage: num(0, 100), percentage: num(0, 100) });
const motorsState = object({ left: UNIT, right: UNIT });
const pose = object({ x: num(-1e6, 1e6), y: num(-1e6, 1e6), heading: num(-10, 10) });
const videoNote = object(
  { step: int(1, 20), of: int(2, 21), name: str(1, MAX_ID_CHARS), reason: str(1, 200) },
  (n) => ((n.step as number) < (n.of as number) ? null : 'step must be below of'),
);
const audioFormat = object({ format: oneOf('pcm_s16le'), rate: int(8000, 48000), channels: int(1, 1), frameMs: int(5, 100) });
const welcomeLimits = object({ deadmanMs: int(1, 60000), maxTtlMs: int(1, 60000), sendIntervalMs: int(1, 60000) });

/** The recording frame's fields (protocol/relay.ts validates the relay's with the same). */
export const RECORDING_SPEC: Spec = {
  v: V, type: oneOf('recording'), robot: str(1, 64, ROBOT_ID_PATTERN), available: bool, active: bool,
  since: nullable(num(0, 2 ** 53)), by: nullable(NAME), stopped: optional(oneOf(...RECORDING_STOP_REASONS)),
};

const robotSpecs: Record<RobotMessage['type'], Spec> = {
  welcome: {
    v: V, type: oneOf('welcome'), session: ID, robot: NAME, driver: nullable(ID), audio: audioFormat,
    limits: welcomeLimits, serverTime: CLOCK,
  },
  ack: { v: V, type: oneOf('ack'), seq: SEQ, t: CLOCK, result: oneOf(...ACK_RESULTS), reason: optional(str(1, 200)), serialRttMs: optional(num(0, 60000)) },
  heartbeat_ack: { v: V, type: oneOf('heartbeat_ack'), t: CLOCK },
  telemetry: { v: V, type: oneOf('telemetry'), battery, motors: motorsState, serial: bool, pose: optional(pose), video: optional(videoNote), ts: CLOCK },
  lease: { v: V, type: oneOf('lease'), driver: nullable(ID), driverName: nullable(NAME), you: bool, requestedBy: optional(ID) },
  stopped: { v: V, type: oneOf('stopped'), reason: oneOf(...STOP_REASONS), by: optional(ID), at: CLOCK },
  tts_result: { v: V, type: oneOf('tts_result'), id: ID, ok: bool, error: optional(str(1, 200)) },
  talk_state: { v: V, type: oneOf('talk_state'), speaker: oneOf('idle', 'playing'), by: nullable(ID) },
  error: { v: V, type: oneOf('error'), code: oneOf(...ERROR_CODES), message: str(1, 500), field: optional(str(1, 100)), ref: optional(str(1, 100)) },
  recording: RECORDING_SPEC,
};

/**
 * The prelude every frame goes through on every edge: size (in bytes, as sent), JSON, an object,
 * our protocol version. protocol/relay.ts uses it for its envelopes too.
 */
export function decodeFrame(input: unknown): Result<Record<string, unknown>> {
  let value = input;
  if (typeof input === 'string') {
    // Byte length, not string length: a frame of multi-byte characters is measured as sent. No
    // UTF-16 unit takes more than 3 bytes, so a string of at most a third of the limit is not counted.
    if (input.length * 3 > MAX_TEXT_FRAME_BYTES && utf8Length(input) > MAX_TEXT_FRAME_BYTES) return fail(`message larger than ${MAX_TEXT_FRAME_BYTES} bytes`);
    try {
      value = JSON.parse(input);
    } catch {
      return fail('not valid JSON');
    }
  }
  if (!isRecord(value)) return fail('message must be a JSON object');
  if (value.v !== PROTOCOL_VERSION) return fail(`unsupported protocol version (this side speaks v${PROTOCOL_VERSION})`, 'v');
  return ok(value);
}

/** Checks a decoded frame against the spec of its `type`; an unknown type is refused naming the field. */
export function checkTyped<T>(specs: Record<string, Spec>, value: Record<string, unknown>): Result<T> {
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(specs, type)) return fail('unknown message type', 'type');
  const problem = checkFields(value, specs[type]!);
  if (problem) return fail(`${problem.field} ${problem.error}`, problem.field);
  return ok(value as T);
}

function parseWith<T>(specs: Record<string, Spec>, input: unknown): Result<T> {
  const d = decodeFrame(input);
  return d.ok ? checkTyped<T>(specs, d.value) : d;
}

/** Validates a frame an operator's app sent (a JSON string or an already parsed value). */
export const parseClientMessage = (input: unknown): Result<ClientMessage> => parseWith(clientSpecs, input);
/** Validates a frame the robot sent. */
export const parseRobotMessage = (input: unknown): Result<RobotMessage> => parseWith(robotSpecs, input);

export const CLIENT_MESSAGE_TYPES = Object.keys(clientSpecs) as ClientMessage['type'][];
export const ROBOT_MESSAGE_TYPES = Object.keys(robotSpecs) as RobotMessage['type'][];

/** The error code a failed parse maps to, so every edge answers the same way. */
export function errorCodeFor(error: string, field?: string): ErrorCode {
  if (error.startsWith('message larger')) return 'too_large';
  if (error === 'not valid JSON') return 'bad_json';
  if (field === 'v') return 'unsupported_version';
  return 'bad_message';
}

export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { bytes += 4; i++; }
    else bytes += 3;
  }
  return bytes;
}

/** Builds a message with the version filled in, so senders cannot forget it. */
export function msg<T extends ClientMessage | RobotMessage>(body: Omit<T, 'v'>): T {
  return { v: PROTOCOL_VERSION, ...body } as T;
}

/** Converts v1's direction+speed command to differential track speeds in [-1, 1]. */
export function directionToTracks(direction: Direction, speed: number): { left: number; right: number } {
  const s = Math.max(0, Math.min(255, speed)) / 255;
  switch (direction) {
    case 'forward': return { left: s, right: s };
    case 'backward': return { left: -s, right: -s };
    case 'left': return { left: -s, right: s };
    case 'right': return { left: s, right: -s };
    case 'stop': return { left: 0, right: 0 };
  }
}
