// The relay process put together: store, bus, access and hub wired into one HTTP server, and the
// WebSocket handshakes, authenticated before the upgrade. The HTTP routes are a table in
// http-routes.ts; main.ts is the CLI around createRelay().
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { refuseHandshake } from '../../common/handshake.ts';
import { createLogger, type Logger } from '../../common/log.ts';
import { CLIENT_ID_PATTERN, ROBOT_ID_PATTERN } from '../../protocol/relay.ts';
import { Access, bearer } from './access.ts';
import { LocalBus, RedisBus, type Bus } from './bus.ts';
import { checkHealth } from './health.ts';
import { REAL_CLOCK } from './connection.ts';
import { Datagrams, type DatagramConfig } from './datagram.ts';
import { clientIp } from './http.ts';
import { createRequestHandler } from './http-routes.ts';
import { Hub } from './hub.ts';
import { RelayLimits } from './limits.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { PublishCredentials } from './publish-credential.ts';
import { MediamtxRecordSwitch, Recordings } from './recording.ts';
import { FileStore, RedisStore, type Store } from './store.ts';

export interface RelayOptions {
  port: number;
  host?: string;
  dataDir: string;
  adminApiKey?: string;
  redisUrl?: string;
  /** MediaMTX's API for /health ('' to skip the check). */
  mediamtxApiUrl?: string;
  /** Origins allowed to call the session API from a browser and to open client sockets. */
  appOrigins?: string[];
  /** Base URL of the app, for invite links. */
  appUrl?: string;
  /** Public URL of this relay as the app should reach it (put in invite links). */
  publicUrl?: string;
  /** Base URL of MediaMTX's WebRTC server as browsers reach it (WHEP/WHIP); default MediaMTX's standard WebRTC port on the relay's host. */
  mediaPublicUrl?: string;
  /** Base URL of MediaMTX's HLS server as browsers reach it; default MediaMTX's standard HLS port on the relay's host. */
  hlsPublicUrl?: string;
  /** Take the client address from X-Forwarded-For (behind Caddy). */
  trustProxy?: boolean;
  /**
   * The secret MediaMTX's auth hook calls must carry (the password in its authHTTPAddress).
   * Without one the hook refuses every call: nothing can publish or watch.
   */
  mediamtxAuthSecret?: string;
  /** The password of MediaMTX's API and metrics (its auth hook checks it); mediamtxApiUrl carries it. */
  mediamtxApiSecret?: string;
  /** Where MediaMTX records (its recordPath's root) as this process sees it; unset: no recording. */
  recordingsDir?: string;
  /** Recording refuses to start, and stops, with less free than this on recordingsDir (default 1 GiB). */
  recordingMinFreeBytes?: number;
  /** MediaMTX's playback server as the relay reaches it (admin listing), e.g. http://127.0.0.1:9996. */
  mediamtxPlaybackUrl?: string;
  /** MediaMTX's playback server as browsers reach it, handed out with sessions. */
  playbackPublicUrl?: string;
  limits?: Partial<RelayLimits>;
  log?: Logger;
  /** The drive datagram channel (datagram.ts); absent or null: off, drive goes over the socket only. */
  datagram?: DatagramConfig | null;
}

export interface Relay {
  port: number;
  access: Access;
  hub: Hub;
  /** Recording on demand (recording.ts). */
  recordings: Recordings;
  inviteLink(token: string): string;
  close(): Promise<void>;
}

/** Recording's free-space floor unless RECORDING_MIN_FREE_MB says otherwise: 1 GiB. */
export const DEFAULT_RECORDING_FLOOR_BYTES = 1024 * 1048576;

export function makeStore(dataDir: string, redisUrl?: string): Store {
  return redisUrl ? new RedisStore(redisUrl) : new FileStore(dataDir);
}

export function inviteLinkFor(appUrl: string, publicUrl: string | undefined, token: string): string {
  const u = new URL(appUrl);
  if (publicUrl) u.searchParams.set('server', publicUrl);
  u.searchParams.set('invite', token);
  return u.toString();
}

/** Redis down at start is not fatal: /health reports it, ioredis reconnects and resubscribes. */
async function startBus(redisUrl: string | undefined, limits: RelayLimits, log: Logger): Promise<Bus> {
  if (!redisUrl) return new LocalBus();
  let lastError = '';
  const rb = new RedisBus(redisUrl, (err) => {
    if (err.message !== lastError) log.warn('redis unavailable', { error: err.message });
    lastError = err.message;
  });
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), limits.healthTimeoutMs * 2).unref());
  if ((await Promise.race([rb.start().catch(() => 'timeout' as const), timeout])) === 'timeout') log.warn('redis not reachable at start; continuing');
  else lastError = '';
  return rb;
}

export async function createRelay(opts: RelayOptions): Promise<Relay> {
  const log = opts.log ?? createLogger('relay');
  const limits: RelayLimits = { ...RelayLimits, ...opts.limits };
  const metrics = createMetrics({ dataDir: opts.dataDir });
  const store = makeStore(opts.dataDir, opts.redisUrl);
  const bus = await startBus(opts.redisUrl, limits, log);
  const access = new Access(store, limits, log.child('access'), opts.adminApiKey, (kind) => metrics.authFailures.inc({ kind }));
  const hub = new Hub(access, store, bus, limits, metrics, log.child('hub'));
  access.publish = new PublishCredentials(store, limits.publishCredentialTtlMs, opts.mediamtxAuthSecret);
  hub.issuePublishCredentials(access.publish);
  const recordings = new Recordings({
    switch: opts.mediamtxApiUrl ? new MediamtxRecordSwitch(opts.mediamtxApiUrl) : null,
    dir: opts.recordingsDir ?? null,
    floorBytes: opts.recordingMinFreeBytes ?? DEFAULT_RECORDING_FLOOR_BYTES,
    announce: (f) => hub.announceRecording(f),
    log: log.child('recording'),
  });
  hub.useRecordings(recordings);
  if (opts.datagram) {
    const datagrams = new Datagrams(opts.datagram, limits, REAL_CLOCK, log.child('datagram'));
    try {
      await datagrams.warm();
      hub.useDatagrams(datagrams);
    } catch (err) {
      log.warn('drive channel off: WebRTC did not start; drive goes over the socket only', { error: err as Error });
    }
  }
  const recordingCheck = setInterval(() => void recordings.check(), limits.recordingCheckMs);
  recordingCheck.unref();
  const appOrigins = opts.appOrigins ?? [];
  const appUrl = opts.appUrl ?? 'http://127.0.0.1:5173/';
  const inviteLink = (token: string) => inviteLinkFor(appUrl, opts.publicUrl, token);
  const health = () => checkHealth({ mediamtxApiUrl: opts.mediamtxApiUrl, redisUrl: opts.redisUrl, timeoutMs: limits.healthTimeoutMs, store, bus });
  if (!opts.mediamtxAuthSecret) log.warn('MEDIAMTX_AUTH_SECRET not set: the MediaMTX auth hook refuses every request, so nothing can publish or watch');
  const server = createServer(createRequestHandler({
    access, hub, metrics, limits, log, adminApiKey: opts.adminApiKey, trustProxy: opts.trustProxy, appOrigins,
    mediaPublicUrl: opts.mediaPublicUrl, hlsPublicUrl: opts.hlsPublicUrl, inviteLink, health,
    recordings, mediamtxPlaybackUrl: opts.mediamtxPlaybackUrl, playbackPublicUrl: opts.playbackPublicUrl,
    mediamtxAuthSecret: opts.mediamtxAuthSecret, mediamtxApiSecret: opts.mediamtxApiSecret, talker: (robot, session) => holdsLease(hub, robot, session),
  }));
  // Large enough that an oversized protocol frame gets an error frame (routing.ts) instead of 1009.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const upgrade = handshakes({ access, hub, metrics, limits, trustProxy: opts.trustProxy, appOrigins }, wss);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head).catch((err: unknown) => {
      log.error('upgrade failed', { error: err as Error });
      refuseUpgrade(metrics, socket, 503, 'unavailable', 'internal error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;

  return {
    port, access, hub, recordings, inviteLink,
    async close() {
      clearInterval(recordingCheck);
      hub.close();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      await bus.close();
    },
  };
}

/**
 * True when `session` is connected here as the client that holds `robot`'s lease. With several
 * relays the driver may be connected to another one: its talk is then refused here (the lease
 * record names a client id, and only the relay it is connected to knows that client's session).
 */
function holdsLease(hub: Hub, robot: string, session: string): boolean {
  const driver = hub.status().drivers[robot];
  // Connected here with `session`: not taken for it, yet taken for any other session (no id is '').
  return !!driver && !hub.clientIdTaken(robot, driver, session) && hub.clientIdTaken(robot, driver, '');
}

// ---- WebSocket handshakes ------------------------------------------------------------------
// Refused with an HTTP answer before the upgrade: a socket that reaches the hub is known.

function refuseUpgrade(metrics: Metrics, socket: Duplex, status: number, code: string, message: string): void {
  refuseHandshake(socket, status, { ok: false, error: code, msg: message }, status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
  metrics.refused.inc({ code });
}

interface HandshakeContext {
  access: Access; hub: Hub; metrics: Metrics; limits: RelayLimits; trustProxy?: boolean; appOrigins: string[];
}

function handshakes(c: HandshakeContext, wss: WebSocketServer) {
  const { access, hub, appOrigins } = c;
  const refuse = (socket: Duplex, status: number, code: string, message: string) => refuseUpgrade(c.metrics, socket, status, code, message);
  return async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay');
    const ip = clientIp(req, c.trustProxy);
    const robotPath = /^\/ws\/robot\/([^/]+)$/.exec(url.pathname);
    const clientPath = /^\/ws\/client\/([^/]+)$/.exec(url.pathname);
    if (!robotPath && !clientPath) return refuse(socket, 404, 'not_found', 'no such socket');
    // Only wrong credentials are braked: a right one passes whatever else came from this address.
    const wrong = async (kind: string, message: string) => {
      const locked = access.locked(ip);
      await access.failed(ip, kind);
      if (locked) return refuse(socket, 429, 'rate_limited', 'too many failed logins, try later');
      return refuse(socket, 401, 'unauthorized', message);
    };

    if (robotPath) {
      const robot = decodeURIComponent(robotPath[1]!);
      if (!ROBOT_ID_PATTERN.test(robot)) return refuse(socket, 404, 'not_found', 'bad robot id');
      const secret = access.robotSecretFrom(robot, req.headers.authorization);
      if (!secret) return refuse(socket, 401, 'unauthorized', 'robot credentials required (Basic robotId:password or Bearer password)');
      if (!(await access.verifyRobot(robot, secret))) return wrong('robot', 'bad robot credentials');
      return wss.handleUpgrade(req, socket, head, (ws) => hub.addRobot(ws, robot, socket));
    }

    const clientId = decodeURIComponent(clientPath![1]!);
    if (!CLIENT_ID_PATTERN.test(clientId)) return refuse(socket, 404, 'not_found', 'bad client id');
    const origin = req.headers.origin;
    if (origin && appOrigins.length && !appOrigins.includes('*') && !appOrigins.includes(origin)) {
      return refuse(socket, 403, 'forbidden', 'origin not allowed');
    }
    const token = url.searchParams.get('token') ?? bearer(req.headers.authorization);
    if (!token) return refuse(socket, 401, 'unauthorized', 'session token required (?token= or Bearer)');
    const session = await access.verifySession(token);
    if (!session) return wrong('client', 'session unknown or expired');
    if (hub.clientIdTaken(session.robot, clientId, session.id)) return refuse(socket, 409, 'busy', 'client id in use by another session');
    if (hub.clientCount(session.robot) >= c.limits.maxClientsPerRobot) return refuse(socket, 503, 'busy', 'too many clients for this robot');
    wss.handleUpgrade(req, socket, head, (ws) => void hub.addClient(ws, clientId, session, socket));
  };
}
