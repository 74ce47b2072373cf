// The bridge's HTTP API (docs/API_REFERENCE.md): v1's routes with their {ok, msg} shape (docs/MIGRATION.md).
// Each route is a small function of the request and the bridge's parts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../common/log.ts';
import { checkFields, int, isRecord, str } from '../../protocol/check.ts';
import { MAX_TTS_CHARS } from '../../protocol/limits.ts';
import { DIRECTIONS, directionToTracks, type Direction } from '../../protocol/messages.ts';
import type { Access } from '../auth/access.ts';
import { bearerOf, retryAfter } from '../auth/access.ts';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie } from '../auth/sessions.ts';
import type { ConfigStore, UpdateResult } from '../config/store.ts';
import type { Config } from '../config/schema.ts';
import type { Hardware } from '../hardware/parts.ts';
import type { Lease } from '../safety/lease.ts';
import type { Motion } from '../safety/motion.ts';
import type { ServerMode } from '../server-mode/controller.ts';
import { readJsonBody } from './body.ts';
import { fail, ok, sendJson } from './respond.ts';

/** Session id of HTTP motor commands (v1's HTTP API has no connection to hang one on). */
export const HTTP_SESSION = 'http';

export interface RouteDeps {
  access: Access;
  config: ConfigStore;
  lease: Lease;
  motion: Motion;
  hardware: Hardware;
  stats: () => { clientsConnected: number; audioStreaming: boolean; totalRequests: number };
  startedAt: number;
  log: Logger;
  /** Called after every saved config change, to apply what applies at once. */
  onConfigChanged?: (next: Config, previous: Config) => void | Promise<void>;
  /** Server mode (absent in tests that build a bridge without it). */
  server?: ServerMode;
  /** The robot CA's certificate (DER) the HTTPS certificate is signed with; null with the user's own certificate. */
  caCert?: () => Buffer | null;
}

export interface RouteRequest { req: IncomingMessage; res: ServerResponse; url: URL; secure: boolean }

let httpSeq = 0;

/** A refused config update: 400 naming the field, or 507 when the disk refused a valid one. */
function failUpdate(res: ServerResponse, r: Extract<UpdateResult, { ok: false }>): void {
  if (r.storage) return fail(res, 507, `config ${r.problem.error}`);
  fail(res, 400, `${r.problem.field} ${r.problem.error}`, { field: r.problem.field });
}

export async function postSession(d: RouteDeps, { req, res, secure }: RouteRequest): Promise<void> {
  let token = bearerOf(req);
  if (token === null) {
    const body = await readJsonBody(req, undefined, { allowEmpty: true });
    if (body.ok && isRecord(body.value) && typeof body.value.token === 'string') token = body.value.token;
  }
  const auth = await d.access.checkToken(req, token);
  if (!auth.ok) return fail(res, auth.status, auth.status === 401 ? 'operator token required' : auth.reason, {}, retryAfter(auth.status));
  const s = d.access.sessions.create();
  ok(res, 'signed in', { expires: s.expires }, { 'Set-Cookie': sessionCookie(s.id, s.expires, secure) });
}

export function deleteSession(d: RouteDeps, { req, res, secure }: RouteRequest): void {
  const id = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (id) d.access.sessions.revoke(id);
  ok(res, 'signed out', {}, { 'Set-Cookie': clearedSessionCookie(secure) });
}

export function getHealth(d: RouteDeps, { res }: RouteRequest): void {
  ok(res, 'alive', { uptime: Math.round((Date.now() - d.startedAt) / 1000) });
}

/**
 * The robot CA's certificate, public by nature and needed before anything else (no auth): a phone
 * that trusts it can install the app and start it offline (docs/SETUP_ROBOT.md).
 */
export function getCaCert(d: RouteDeps, { res }: RouteRequest): void {
  const der = d.caCert?.() ?? null;
  if (!der) return fail(res, 404, 'this robot has no certificate authority: its HTTPS certificate is its owner\'s own (https.cert_path) or HTTPS is off');
  res.writeHead(200, {
    'Content-Type': 'application/x-x509-ca-cert',
    'Content-Length': String(der.length),
    'Content-Disposition': 'attachment; filename="havatar-robot-ca.crt"',
    'Cache-Control': 'no-cache',
  });
  res.end(der);
}

export function getSystemStatus(d: RouteDeps, { res }: RouteRequest): void {
  const hw = d.hardware;
  const m = hw.motors.state;
  const cfg = d.config.get();
  const stats = d.stats();
  const driver = d.lease.driver;
  sendJson(res, 200, {
    camera: hw.video ? { available: true, ...hw.video.status() } : { available: false, error: hw.problems.video ?? 'not configured' },
    motors: {
      connected: m.connected,
      port: m.port,
      left: m.left,
      right: m.right,
      watchdog_tripped: m.watchdogTripped,
      frames_sent: m.framesSent,
      frames_rejected: m.framesRejected,
      moving: d.motion.isMoving,
      driver: driver ? { session: driver.session, name: driver.name } : null,
      deadman_ms: cfg.safety.deadman_ms,
    },
    tts: hw.tts ? { ...hw.tts.info } : { available: false, error: hw.problems.tts ?? 'not configured' },
    audio: {
      enabled: cfg.audio.enabled,
      mic: cfg.audio.mic_device,
      speaker: cfg.audio.speaker_device,
      mic_status: hw.mic ? hw.mic.status() : { available: false, error: hw.problems.mic ?? 'not configured' },
      speaker_status: hw.speaker ? hw.speaker.status() : { available: false, error: hw.problems.speaker ?? 'not configured' },
    },
    battery: m.battery ?? { voltage: 0, percentage: 0 },
    server: d.server ? { available: d.server.configured, ...d.server.status() } : { available: false },
    config: d.config.report,
    app_state: {
      uptime: (Date.now() - d.startedAt) / 1000,
      clients_connected: stats.clientsConnected,
      total_requests: stats.totalRequests,
      audio_streaming_active: stats.audioStreaming,
    },
  });
}

/** The v1 bodies' specs, built once (protocol/check.ts reads each spec object once). */
const MOVE_BODY = { speed: int(0, 255) };
const TTS_BODY = { text: str(1, MAX_TTS_CHARS) };

export async function postMotor(d: RouteDeps, { req, res }: RouteRequest, direction: string): Promise<void> {
  if (!(DIRECTIONS as readonly string[]).includes(direction)) {
    return fail(res, 404, `unknown direction: use one of ${DIRECTIONS.join(', ')}`, { field: 'direction' });
  }
  if (direction === 'stop') {
    req.resume();
    await d.motion.stop('command', HTTP_SESSION);
    return ok(res, 'stopped');
  }
  const body = await readJsonBody(req);
  if (!body.ok) return fail(res, body.status, body.msg);
  if (!isRecord(body.value)) return fail(res, 400, 'body must be a JSON object', { field: '(root)' });
  const problem = checkFields(body.value, MOVE_BODY);
  if (problem) return fail(res, 400, `${problem.field} ${problem.error}`, { field: problem.field });
  const driver = d.lease.driver;
  if (driver) return fail(res, 409, `session ${driver.session} (${driver.name}) is driving over the WebSocket`, { driver: driver.session });
  const speed = body.value.speed as number;
  const deadmanMs = d.config.get().safety.deadman_ms;
  const now = Date.now();
  const out = await d.motion.command(HTTP_SESSION, { seq: ++httpSeq, t: now, ttl: deadmanMs, ...directionToTracks(direction as Direction, speed) }, now);
  if (out.result !== 'applied') return fail(res, 503, out.reason ?? out.result);
  ok(res, `${direction} at ${speed} for ${deadmanMs} ms: repeat to keep moving`, { serialRttMs: out.serialRttMs });
}

export async function postTts(d: RouteDeps, { req, res }: RouteRequest): Promise<void> {
  const body = await readJsonBody(req);
  if (!body.ok) return fail(res, body.status, body.msg);
  if (!isRecord(body.value)) return fail(res, 400, 'body must be a JSON object', { field: '(root)' });
  const problem = checkFields(body.value, TTS_BODY);
  if (problem) return fail(res, 400, `${problem.field} ${problem.error}`, { field: problem.field });
  const tts = d.hardware.tts;
  if (!tts || !tts.info.available) return fail(res, 503, 'text-to-speech is not available on this robot');
  if (tts.info.speaking) return fail(res, 409, 'already speaking');
  const text = body.value.text as string;
  tts.speak(text).catch((err: unknown) => d.log.warn('tts failed', { err }));
  ok(res, 'speaking');
}

export function getConfig(d: RouteDeps, { res }: RouteRequest): void {
  ok(res, 'config', { config: d.config.masked(), source: d.config.report });
}

/** Sections read only at start-up: changing them needs a bridge restart. */
const RESTART_SECTIONS = ['camera', 'audio', 'motors', 'https', 'tts'] as const;

export async function postConfig(d: RouteDeps, { req, res }: RouteRequest): Promise<void> {
  const body = await readJsonBody(req);
  if (!body.ok) return fail(res, body.status, body.msg);
  const previous = d.config.get();
  const r = await d.config.update(body.value);
  if (!r.ok) return failUpdate(res, r);
  await d.onConfigChanged?.(r.config, previous);
  const restart = RESTART_SECTIONS.filter((s) => JSON.stringify(previous[s]) !== JSON.stringify(r.config[s]));
  ok(res, restart.length ? `saved; restart the bridge to apply ${restart.join(', ')}` : 'saved', { config: d.config.masked(), restart_required: restart });
}

export function getVideo(d: RouteDeps, { req, res }: RouteRequest): void {
  if (!d.hardware.video) return fail(res, 503, `camera unavailable: ${d.hardware.problems.video ?? 'not configured'}`);
  d.hardware.video.handle(req, res);
}

// ---- server mode (v1's /server/* routes) ----------------------------------------------------------

function serverOf(d: RouteDeps, res: ServerResponse): ServerMode | null {
  if (!d.server) fail(res, 503, 'server mode is not available in this bridge');
  return d.server ?? null;
}

/** Starts server mode now and on every start of the bridge (`server_mode.enabled: true`). */
export async function postServerStart(d: RouteDeps, { req, res }: RouteRequest): Promise<void> {
  req.resume();
  const server = serverOf(d, res);
  if (!server) return;
  const missing = server.configured ? null : 'server_mode.stream_password';
  if (missing) return fail(res, 400, `${missing} is not set: POST /server/config first`, { field: missing });
  const previous = d.config.get();
  if (!previous.server_mode.enabled) {
    const r = await d.config.update({ server_mode: { enabled: true } });
    if (!r.ok) return failUpdate(res, r);
  }
  const started = await server.start();
  if (!started.ok) return fail(res, started.field ? 400 : 503, started.msg, started.field ? { field: started.field } : {});
  ok(res, 'server mode starting', { status: server.status() });
}

/** Stops server mode and keeps it off across restarts (`server_mode.enabled: false`). */
export async function postServerStop(d: RouteDeps, { req, res }: RouteRequest): Promise<void> {
  req.resume();
  const server = serverOf(d, res);
  if (!server) return;
  if (d.config.get().server_mode.enabled) {
    const r = await d.config.update({ server_mode: { enabled: false } });
    if (!r.ok) return failUpdate(res, r);
  }
  await server.stop();
  ok(res, 'server mode stopped', { status: server.status() });
}

export function getServerStatus(d: RouteDeps, { res }: RouteRequest): void {
  const server = serverOf(d, res);
  if (!server) return;
  ok(res, 'server mode status', { status: server.status() });
}

/**
 * The `server_mode` block (any subset of its fields), validated by the config schema, saved
 * atomically, applied at once (server mode restarts with it when enabled). The password is
 * write-only: answers show it masked. A new relay or RTSP host (scheme, host or port) needs the
 * password in the same request, else 400 naming server_mode.stream_password: the stored one is
 * never sent to a host the operator token chose (config/password-hosts.ts).
 */
export async function postServerConfig(d: RouteDeps, { req, res }: RouteRequest): Promise<void> {
  const server = serverOf(d, res);
  if (!server) { req.resume(); return; }
  const body = await readJsonBody(req);
  if (!body.ok) return fail(res, body.status, body.msg);
  if (!isRecord(body.value)) return fail(res, 400, 'body must be a JSON object (the server_mode block)', { field: '(root)' });
  const previous = d.config.get();
  const r = await d.config.update({ server_mode: body.value });
  if (!r.ok) return failUpdate(res, r);
  await d.onConfigChanged?.(r.config, previous);
  ok(res, r.config.server_mode.enabled ? 'saved and applied' : 'saved', { config: d.config.masked().server_mode, status: server.status() });
}
