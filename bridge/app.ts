// Wires the bridge together: config → hardware → safety (lease, motion) → WebSocket gateway and
// HTTP router, served on HTTP and HTTPS. close() leaves a stopped robot and no child processes.

import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLogger, type Logger } from '../common/log.ts';
import { Access } from './auth/access.ts';
import { SessionStore } from './auth/sessions.ts';
import { TokenStore } from './auth/token-store.ts';
import type { Config } from './config/schema.ts';
import { ConfigStore } from './config/store.ts';
import { createHardware } from './hardware/index.ts';
import type { Hardware } from './hardware/parts.ts';
import { createRequestHandler } from './http/router.ts';
import { StaticFiles } from './http/static.ts';
import { loadOrCreateTls, renewOnAddressChange } from './http/tls.ts';
import { Lease } from './safety/lease.ts';
import { Motion } from './safety/motion.ts';
import { ServerMode } from './server-mode/controller.ts';
import { WsGateway } from './ws/gateway.ts';

export const REPO_ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export interface BridgeOptions {
  dataDir: string;
  /** Bind address; 127.0.0.1 unless phones on the LAN should reach the robot. */
  host?: string;
  /** 0 picks a free port. */
  httpPort?: number;
  /** 0 picks a free port; null disables HTTPS. */
  httpsPort?: number | null;
  /** Serial device of the motor board (overrides config.motors.serial_port). */
  serialPath?: string;
  /** Sets (or resets) the operator token to this value; stored hashed. */
  operatorToken?: string;
  /** The built app; default <repo>/dist. null serves no app. */
  staticDir?: string | null;
  /** Parts built by the caller instead of from the config (tests of single parts). */
  hardware?: Hardware;
  pingIntervalMs?: number;
  log?: Logger;
}

export interface Bridge {
  httpPort: number;
  httpsPort: number | null;
  /** Set only when a token was generated on this start: show it once. */
  newToken?: string;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function createBridge(opts: BridgeOptions): Promise<Bridge> {
  const log = opts.log ?? createLogger('bridge');
  const host = opts.host ?? '127.0.0.1';
  const config = await ConfigStore.open(opts.dataDir, log.child('config'));
  const { store: tokens, newToken } = await TokenStore.open(opts.dataDir, opts.operatorToken !== undefined ? { resetTo: opts.operatorToken } : {});
  const access = new Access(tokens, new SessionStore(), log.child('auth'));

  const hardware = opts.hardware ?? (await createHardware({ config: config.get(), serialPath: opts.serialPath, dataDir: opts.dataDir, log: log.child('hardware') }));
  const lease = new Lease();
  const motion = new Motion(hardware.motors, config.get().safety.deadman_ms, log.child('safety'));
  const gateway = new WsGateway({
    access, lease, motion, hardware, config: () => config.get(), log: log.child('ws'),
    ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
  });

  const server = new ServerMode({ config: () => config.get().server_mode, gateway, lease, hardware, log: log.child('server-mode') });

  const startedAt = Date.now();
  let totalRequests = 0;
  // Set once HTTPS is up with the robot CA's certificate; GET /ca.crt serves it.
  let caCert: Buffer | null = null;
  let stopRenewing = () => {};
  const staticDir = opts.staticDir === undefined ? join(REPO_ROOT, 'dist') : opts.staticDir;
  const routerOpts = {
    access, config, lease, motion, hardware, startedAt, log,
    staticFiles: staticDir ? new StaticFiles(staticDir) : null,
    countRequest: () => { totalRequests++; },
    stats: () => ({ clientsConnected: gateway.clientCount, audioStreaming: gateway.audioStreaming, totalRequests }),
    server,
    caCert: () => caCert,
    onConfigChanged: async (next: Config, previous: Config) => {
      motion.setDeadmanMs(next.safety.deadman_ms);
      await server.configChanged(next.server_mode, previous.server_mode);
    },
  };

  const servers: Server[] = [];
  const onUpgrade = (server: Server) =>
    server.on('upgrade', (req, socket, head) => {
      totalRequests++;
      gateway.handleUpgrade(req, socket, head).catch((err: unknown) => {
        log.error('upgrade failed', { err });
        socket.destroy();
      });
    });

  const cleanup = async () => {
    stopRenewing();
    await server.close();
    await gateway.close();
    await motion.stop('shutdown');
    motion.close();
    await Promise.all(servers.map(closeServer));
    if (!opts.hardware) await hardware.close();
  };

  try {
    const http = createHttpServer(createRequestHandler(routerOpts, false));
    servers.push(http);
    onUpgrade(http);
    const httpPort = await listen(http, opts.httpPort ?? 5000, host);

    let httpsPort: number | null = null;
    if (opts.httpsPort !== null) {
      const tls = await loadOrCreateTls(opts.dataDir, config.get(), log.child('tls'));
      const tlsServer = createHttpsServer({ cert: tls.cert, key: tls.key }, createRequestHandler(routerOpts, true));
      const https = tlsServer as unknown as Server;
      caCert = tls.caCert;
      if (tls.source === 'robot-ca') {
        // A new address gets a new certificate in place: phones that trust the CA see no change.
        stopRenewing = renewOnAddressChange(opts.dataDir, log.child('tls'), (m) => tlsServer.setSecureContext({ cert: m.cert, key: m.key }));
      }
      servers.push(https);
      onUpgrade(https);
      httpsPort = await listen(https, opts.httpsPort ?? 5443, host);
    }
    log.info('bridge listening', { host, httpPort, httpsPort, dataDir: opts.dataDir, config: config.report.source });
    if (config.get().server_mode.enabled) {
      // Server mode comes up in the background; local mode serves meanwhile (and if it never does).
      void server.start().then((r) => { if (!r.ok) log.warn('server mode enabled but not started', { reason: r.msg }); });
    }

    let closing: Promise<void> | null = null;
    const bridge: Bridge = { httpPort, httpsPort, close: () => (closing ??= cleanup()) };
    if (newToken) bridge.newToken = newToken;
    return bridge;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
