// Relay-specific frames (server mode). What an operator sends and what the robot answers are the
// ordinary ClientMessage / RobotMessage of protocol/messages.ts; this file only adds the envelopes
// the relay needs around them, so the robot can tell its remote operators apart:
//
//   app ──ClientMessage──▶ relay ──forward{client, msg}──▶ robot
//   app ◀──RobotMessage── relay ◀──RobotMessage (to everyone) | to{client, msg} (to one)── robot
//
// In server mode the relay owns the driver lease: it consumes `hello` and `lease` from the apps,
// tells the robot who drives (`driver`), and forwards drive/motor/heartbeat/tts/talk only from the
// driver (stop from anyone). When a client's socket drops the robot gets `client` leave; when it was
// the driver the relay first forwards a `stop` on its behalf.

import { nullable, num, oneOf, str, type Checker } from './check.ts';
import { MAX_ID_CHARS, PROTOCOL_VERSION } from './limits.ts';
import { checkTyped, decodeFrame, parseClientMessage, parseRobotMessage, RECORDING_SPEC, ROBOT_ID_PATTERN, type ClientMessage, type RecordingMsg, type Role, type RobotMessage, type Spec } from './messages.ts';
import { fail, ok, type Result } from './result.ts';

export { ROBOT_ID_PATTERN } from './messages.ts';
/** A client id chosen by the app for one tab/connection (`/ws/client/:clientId`). */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,64}$/;

/** WebSocket close codes the relay adds to protocol/limits.ts CloseCode (kept clear of 4000-4019). */
export const RelayCloseCode = {
  /** The client read too slowly: its send queue passed the relay's bound. */
  slowConsumer: 4020,
  /** The client id is connected with another session, on this relay or another one. */
  clientIdTaken: 4021,
} as const;

// ---- relay → robot --------------------------------------------------------------------------

/** A validated operator message, tagged with the client (session connection) it came from. */
export interface ForwardMsg { v: 1; type: 'forward'; client: string; msg: ClientMessage }
/** An operator connected (join) or went away (leave). */
export interface ClientPresenceMsg {
  v: 1; type: 'client'; event: 'join' | 'leave'; client: string; role: Role; name: string | null;
}
/** Who drives now, as the relay decided (null: nobody). The robot accepts drive only from them. */
export interface DriverMsg { v: 1; type: 'driver'; client: string | null; name: string | null }

/**
 * The robot's short-lived MediaMTX credential (RTSP user and password for publishing robots/<id>
 * and reading robots/<id>/talk), sent on connect and again before it expires. Its long-lived
 * password then only ever travels on this link (TLS in production), never on the media path.
 */
export interface PublishCredentialMsg { v: 1; type: 'publish_credential'; user: string; password: string; expiresAt: number }

export type RelayToRobotMessage = ForwardMsg | ClientPresenceMsg | DriverMsg | PublishCredentialMsg | RecordingMsg | RtcAnswerMsg;

// ---- the drive datagram channel (app → relay, robot → relay; answered by the relay) -----------
//
// Drive commands also travel over a WebRTC data channel that is unordered and never retransmits,
// so a command lost on the way is simply replaced by the next one instead of holding every later
// one behind a TCP retransmission (docs/RELIABILITY.md). The WebSocket stays and still carries
// every message, drive included: the channel is a second copy that may arrive first. Signalling
// rides the already-authenticated socket, so a channel is its socket's: same identity, same role,
// closed with it. Non-trickle: the offer and the answer carry their ICE candidates.

/** Both sides create the channel themselves with these settings (negotiated: no in-band open). */
export const DRIVE_CHANNEL = { label: 'drive', id: 0, negotiated: true, ordered: false, maxRetransmits: 0 } as const;
/** The only messages a drive channel carries (app → relay: the ClientMessage; relay → robot: its `forward`). */
export const DRIVE_CHANNEL_TYPES = ['drive', 'motor', 'stop', 'heartbeat'] as const;
export type DriveChannelType = (typeof DRIVE_CHANNEL_TYPES)[number];
export const isDriveChannelType = (t: string): t is DriveChannelType => (DRIVE_CHANNEL_TYPES as readonly string[]).includes(t);
/** Largest SDP accepted in either direction (a data-only session description with a few candidates is < 1.5 kB). */
export const MAX_SDP_CHARS = 3500;

/** Offer a drive channel (the app or the robot is the offerer); answered by `rtc_answer` or an `error`. */
export interface RtcOfferMsg { v: 1; type: 'rtc_offer'; sdp: string }
/** The relay's answer to `rtc_offer`. */
export interface RtcAnswerMsg { v: 1; type: 'rtc_answer'; sdp: string }

// ---- recording (relay → app and robot) -------------------------------------------------------

// The relay sends it to every client on join and to everyone (and the robot) on every change.
// Declared once in protocol/messages.ts: the bridge passes it on to its local operators too.
export { RECORDING_STOP_REASONS, type RecordingMsg, type RecordingStopReason } from './messages.ts';

// ---- robot → relay --------------------------------------------------------------------------

/** A robot message for one client only (acks, heartbeat_ack, per-session errors). */
export interface ToClientMsg { v: 1; type: 'to'; client: string; msg: RobotMessage }
/** Anything else the robot sends is a plain RobotMessage, broadcast to all its clients. */
export type RobotToRelayMessage = ToClientMsg | RtcOfferMsg | RobotMessage;

// ---- relay → app (besides forwarded RobotMessages) -------------------------------------------

/** The robot's socket came or went; sent on connect and at once on every change. */
export interface RobotPresenceMsg { v: 1; type: 'robot'; robot: string; online: boolean }
/** A fresh session token (answer to `refresh`): replace the old one, which stops working. */
export interface SessionMsg { v: 1; type: 'session'; token: string; expiresAt: number }

export type RelayToClientMessage = RobotPresenceMsg | SessionMsg | RecordingMsg | RtcAnswerMsg;

// ---- app → relay (besides ClientMessages) ----------------------------------------------------

/** Ask for a fresh session token over the open socket (the app does this before expiry). */
export interface RefreshMsg { v: 1; type: 'refresh' }
/** Start or stop recording this robot (only the driver holding the lease; answered by `recording` or an error). */
export interface RecordMsg { v: 1; type: 'record'; action: 'start' | 'stop' }

export type ClientToRelayMessage = RefreshMsg | RecordMsg | RtcOfferMsg;

// ---- validators ----------------------------------------------------------------------------

const V: Checker = (v) => (v === PROTOCOL_VERSION ? null : `must be ${PROTOCOL_VERSION}`);
const CLIENT: Checker = str(1, MAX_ID_CHARS, CLIENT_ID_PATTERN);
const NAME: Checker = str(1, MAX_ID_CHARS);
const ROBOT: Checker = str(1, 64, ROBOT_ID_PATTERN);
/** What the relay issues (server/relay/publish-credential.ts): a prefix, hex expiry and nonce, a base64url MAC. */
export const PUBLISH_CREDENTIAL_PATTERN = /^hp_[A-Za-z0-9_-]{20,160}$/;

const recordingSpec: Spec = RECORDING_SPEC;
const SDP: Checker = str(1, MAX_SDP_CHARS);
const rtcOfferSpec: Spec = { v: V, type: oneOf('rtc_offer'), sdp: SDP };
const rtcAnswerSpec: Spec = { v: V, type: oneOf('rtc_answer'), sdp: SDP };

const nested = (parse: (x: unknown) => Result<unknown>): Checker => (m) => {
  const r = parse(m);
  return r.ok ? null : r.error; // the inner error already names its field
};

const relayToRobotSpecs: Record<RelayToRobotMessage['type'], Spec> = {
  forward: { v: V, type: oneOf('forward'), client: CLIENT, msg: nested(parseClientMessage) },
  client: { v: V, type: oneOf('client'), event: oneOf('join', 'leave'), client: CLIENT, role: oneOf('driver', 'viewer'), name: nullable(NAME) },
  driver: { v: V, type: oneOf('driver'), client: nullable(CLIENT), name: nullable(NAME) },
  publish_credential: { v: V, type: oneOf('publish_credential'), user: ROBOT, password: str(23, 163, PUBLISH_CREDENTIAL_PATTERN), expiresAt: num(0, 2 ** 53) },
  recording: recordingSpec,
  rtc_answer: rtcAnswerSpec,
};

/** Validates a frame the relay sent to the robot (the bridge's server client uses this). */
export function parseRelayToRobot(input: unknown): Result<RelayToRobotMessage> {
  const d = decodeFrame(input);
  if (!d.ok) return d;
  return checkTyped<RelayToRobotMessage>(relayToRobotSpecs, d.value);
}

/** Validates a frame the robot sent to the relay: a `to` envelope or a plain RobotMessage. */
export function parseRobotToRelay(input: unknown): Result<RobotToRelayMessage> {
  const d = decodeFrame(input);
  if (!d.ok) return d;
  if (d.value.type === 'rtc_offer') return checkTyped<RtcOfferMsg>({ rtc_offer: rtcOfferSpec }, d.value);
  if (d.value.type !== 'to') return robotMessageForRelay(d.value);
  return checkTyped<ToClientMsg>(toClientSpecs, d.value);
}

/** Built once: every ack and heartbeat_ack a robot sends comes through here. */
const toClientSpecs: Record<ToClientMsg['type'], Spec> = { to: { v: V, type: oneOf('to'), client: CLIENT, msg: nested(robotMessageForRelay) } };

/** A RobotMessage the relay passes on: not `recording`, which the relay alone says (the robot's is its word to its local operators). */
function robotMessageForRelay(value: unknown): Result<RobotMessage> {
  const r = parseRobotMessage(value);
  return r.ok && r.value.type === 'recording' ? fail('recording is the relay\'s to say, not the robot\'s', 'type') : r;
}

const clientToRelaySpecs: Record<ClientToRelayMessage['type'], Spec> = {
  refresh: { v: V, type: oneOf('refresh') },
  record: { v: V, type: oneOf('record'), action: oneOf('start', 'stop') },
  rtc_offer: rtcOfferSpec,
};

/** Validates a frame an app sent to the relay: `refresh`, `record`, `rtc_offer`, or any ClientMessage. */
export function parseClientToRelay(input: unknown): Result<ClientMessage | ClientToRelayMessage> {
  const d = decodeFrame(input);
  if (!d.ok) return d;
  if (typeof d.value.type !== 'string' || !Object.hasOwn(clientToRelaySpecs, d.value.type)) return parseClientMessage(d.value);
  return checkTyped<ClientToRelayMessage>(clientToRelaySpecs, d.value);
}

/**
 * Validates a frame that came over an app's drive channel: a ClientMessage of DRIVE_CHANNEL_TYPES
 * only (the same parser as the socket's, then the type), so nothing else can enter by that door.
 */
export function parseDriveChannelFromClient(input: unknown): Result<ClientMessage> {
  const r = parseClientMessage(input);
  if (!r.ok || isDriveChannelType(r.value.type)) return r;
  return fail(`only ${DRIVE_CHANNEL_TYPES.join(', ')} travel on the drive channel`, 'type');
}

/** Validates a frame that came over the robot's drive channel: a `forward` of DRIVE_CHANNEL_TYPES only. */
export function parseDriveChannelToRobot(input: unknown): Result<ForwardMsg> {
  const r = parseRelayToRobot(input);
  if (!r.ok) return r;
  if (r.value.type !== 'forward') return fail('only forward travels on the drive channel', 'type');
  if (!isDriveChannelType(r.value.msg.type)) return fail(`only ${DRIVE_CHANNEL_TYPES.join(', ')} travel on the drive channel`, 'msg.type');
  return ok(r.value);
}

const relayToClientSpecs: Record<RelayToClientMessage['type'], Spec> = {
  robot: { v: V, type: oneOf('robot'), robot: ROBOT, online: (x: unknown) => (typeof x === 'boolean' ? null : 'must be true or false') },
  session: { v: V, type: oneOf('session'), token: str(16, 200), expiresAt: num(0, 2 ** 53) },
  recording: recordingSpec,
  rtc_answer: rtcAnswerSpec,
};

/** Validates a relay notice the app received (the app's link uses this beside parseRobotMessage). */
export function parseRelayToClient(input: unknown): Result<RelayToClientMessage> {
  const d = decodeFrame(input);
  if (!d.ok) return d;
  return checkTyped<RelayToClientMessage>(relayToClientSpecs, d.value);
}
