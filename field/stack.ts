// The server-mode stack placed in a field network (field/netns.ts): simulator and bridge (and the
// bridge's FFmpegs) in the robot namespace, MediaMTX, the relay and the app's static files in the
// server namespace; the phone (Chromium, started by the caller in the phone namespace) reaches the
// server at its phone-side address, the robot at its robot-side one, each through its wire. The
// test process reaches loopback ports inside the namespaces through portals, never a route
// around the wires. The processes and their arguments are scripts/stack.ts's (the same bundle, the
// same MediaMTX template), only placed and addressed differently.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { renderMediamtxConfig } from '../server/mediamtx-config.ts';
import { BRIDGE_BUNDLE, BRIDGE_ENV, BRIDGE_NODE_FLAGS, bridgeBundleIsStale } from '../scripts/build-bridge.ts';
import { buildAppIfStale, distinctFreePorts, jsonEvent, launchCommand, lineMatching, mediamtxBinary, relayInvite, ROOT, stopProc, type Proc, type StackOptions } from '../scripts/stack.ts';
import { waitFor } from '../common/wait.ts';
import { makeCertificates } from '../bridge/test/test-certs.ts';
import type { FieldNet, Place } from './netns.ts';

export interface FieldStackOptions {
  dataDir: string;
  log?: StackOptions['log'];
  robotId?: string;
  /** The bridge listens on the robot's link address too (local mode from afar, over a forwarding field network). */
  bridgeOnLink?: boolean;
  /** More environment for the bridge (e.g. HAVATAR_SIM_MIC_MARKER=1 for the audio bench). */
  bridgeEnv?: Record<string, string>;
}

export interface FieldStack {
  token: string;
  robotId: string;
  /** Where the phone opens the app (the server namespace, phone side). */
  appUrl: string;
  /** The relay as the phone reaches it. */
  relayUrlForPhone: string;
  /** The bridge as the phone reaches it through a forwarding network (bridgeOnLink), else null. */
  bridgeUrlForPhone: string | null;
  /** The talk path over RTSPS as the robot reads it (its own credentials), for a reader in the robot's namespace. */
  talkUrlForRobot: string;
  /** Chromium flags the phone needs: the app's plain-http origin treated as secure, as https would be. */
  phoneChromiumArgs: string[];
  /** Through portals, for the test: the bridge, the simulator's control, the relay, MediaMTX's API. */
  bridgeUrl: string;
  simControlUrl: string;
  relayUrl: string;
  mediamtxApiUrl: string;
  mediamtxApiHeaders: Record<string, string>;
  invite(role: 'driver' | 'viewer'): Promise<{ link: string; invite: string }>;
  procs: Proc[];
  stop(): Promise<void>;
}

/** Builds the app and the bridge bundle when stale (in this process: a test's setup, not a launcher). */
async function buildIfStale(log: FieldStackOptions['log']): Promise<void> {
  await buildAppIfStale(log);
  if (bridgeBundleIsStale()) execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build-bridge.ts')], { stdio: 'ignore' });
}

export async function startFieldStack(net: FieldNet, opts: FieldStackOptions): Promise<FieldStack> {
  await buildIfStale(opts.log);
  const A = net.addresses;
  const robotId = opts.robotId ?? 'sim';
  const token = randomBytes(24).toString('base64url');
  const [adminKey, robotPassword, hookSecret, apiSecret] = [0, 1, 2, 3].map(() => randomBytes(24).toString('base64url')) as [string, string, string, string];
  const p = await distinctFreePorts(['bridge', 'bridgeHttps', 'sim', 'relay', 'rtsp', 'rtsps', 'webrtc', 'webrtcUdp', 'hls', 'api', 'metrics', 'app'] as const);
  const appOrigin = `http://${A.serverForPhone}:${p.app}`;
  const relayUrlForPhone = `http://${A.serverForPhone}:${p.relay}`;
  const env = { HAVATAR_DATA_DIR: opts.dataDir };
  const procs: Proc[] = [];
  const start = async (place: Place, name: string, cmd: string, args: string[], ready: (l: string) => Record<string, unknown> | null, extraEnv: Record<string, string> = {}, cwd = ROOT) => {
    const [c, a] = net.wrap(place, cmd, args);
    const proc = await launchCommand(name, c, a, ready, { env: { ...env, ...extraEnv }, log: opts.log, timeoutMs: 30_000, cwd });
    procs.push(proc);
    return proc;
  };
  const node = (script: string, args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', join(ROOT, script), ...args]];
  const stop = async () => {
    // The bridge first (it stops the motors before the simulated ESP32 goes), then the rest.
    const bridge = procs.find((x) => x.name === 'bridge');
    if (bridge) await stopProc(bridge);
    await Promise.all(procs.filter((x) => x !== bridge).map((x) => stopProc(x)));
  };

  try {
    // --- server namespace: MediaMTX (WebRTC offered at the phone-side address only), the relay, the app.
    // The robot publishes over RTSPS, as to any server that is not its own machine (the bridge
    // refuses plain RTSP there); its certificate is signed by a CA the robot is told to trust.
    const certDir = join(opts.dataDir, 'certs');
    mkdirSync(certDir, { recursive: true });
    const certs = makeCertificates(certDir, [A.serverForRobot]);
    const mediamtxConfig = join(opts.dataDir, 'mediamtx.yml');
    writeFileSync(mediamtxConfig, renderMediamtxConfig({
      host: '', rtspPort: p.rtsp, webrtcPort: p.webrtc, webrtcUdpPort: p.webrtcUdp, hlsPort: p.hls, apiPort: p.api, metricsPort: p.metrics,
      appOrigins: [appOrigin], authUrl: `http://127.0.0.1:${p.relay}/mediamtx/auth`, authSecret: hookSecret,
      loopbackOnly: true, additionalHosts: [A.serverForPhone], logLevel: 'info',
    }).replace(/^rtspEncryption:.*$/m, 'rtspEncryption: "optional"')
      + `\nrtspsAddress: :${p.rtsps}\nrtspServerKey: ${certs.key}\nrtspServerCert: ${certs.cert}\n`);
    const relayEnv = {
      ADMIN_API_KEY: adminKey, MEDIAMTX_AUTH_SECRET: hookSecret, MEDIAMTX_API_SECRET: apiSecret, MEDIAMTX_API_URL: `http://127.0.0.1:${p.api}`,
      APP_URL: `${appOrigin}/`, APP_ORIGINS: appOrigin, PUBLIC_URL: relayUrlForPhone,
      MEDIA_PUBLIC_URL: `http://${A.serverForPhone}:${p.webrtc}`, HLS_PUBLIC_URL: `http://${A.serverForPhone}:${p.hls}`,
      // The drive datagram channel's ICE: the addresses the phone and the robot reach the relay at.
      HAVATAR_RELAY_ICE_ADDRESSES: `${A.serverForPhone},${A.serverForRobot}`,
    };
    const relayData = join(opts.dataDir, 'relay');
    const appCopy = join(opts.dataDir, 'app');
    cpSync(join(ROOT, 'dist'), appCopy, { recursive: true });
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server/relay/main.ts'), 'register', '--robot', robotId, '--password', robotPassword, '--data-dir', relayData],
      { env: { ...process.env, ...env, ...relayEnv }, stdio: 'ignore' });
    await Promise.all([
      start('server', 'mediamtx', mediamtxBinary(), [mediamtxConfig], lineMatching(/\[API\] started/), {}, opts.dataDir),
      start('server', 'relay', ...node('server/relay/main.ts', ['--port', String(p.relay), '--host', '0.0.0.0', '--data-dir', relayData]), jsonEvent('listening'), relayEnv),
      // The built app, as Caddy serves it on a server (vite preview: static files, no dev server).
      // From a copy: other runs on this machine rebuild dist/ now and then, and a page loading
      // while the files are rewritten fails.
      start('server', 'app', process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'preview', '--host', A.serverForPhone, '--port', String(p.app), '--strictPort', '--outDir', appCopy],
        lineMatching(/(Local|Network): +http/), { NO_COLOR: '1' }),
    ]);

    // --- robot namespace: the simulated ESP32, then the bridge in server mode toward the robot-side address.
    mkdirSync(join(opts.dataDir, 'pty'), { recursive: true });
    const sim = await start('robot', 'sim', ...node('bridge/sim/esp32-main.ts', ['--control-port', String(p.sim), '--dir', join(opts.dataDir, 'pty')]), jsonEvent('ready'));
    writeFileSync(join(opts.dataDir, 'avatar_tank_config.json'), JSON.stringify({
      camera: { device: 'sim', width: 1280, height: 720, fps: 30 },
      server_mode: { enabled: true, server_url: `http://${A.serverForRobot}:${p.relay}`, stream_key: robotId, stream_password: robotPassword,
        fallback_to_local: true, rtsp_url: `rtsps://${A.serverForRobot}:${p.rtsps}`, rtsp_ca_file: certs.ca },
    }, null, 2), { mode: 0o600 });
    await start('robot', 'bridge', process.execPath, [...BRIDGE_NODE_FLAGS, BRIDGE_BUNDLE, '--port', String(p.bridge), '--https-port', String(p.bridgeHttps),
      '--data-dir', opts.dataDir, '--serial', String(sim.ready.serialPort), '--host', opts.bridgeOnLink ? '0.0.0.0' : '127.0.0.1'], jsonEvent('listening'),
      { ...BRIDGE_ENV, ...opts.bridgeEnv, HAVATAR_OPERATOR_TOKEN: token });
  } catch (err) {
    await stop();
    throw err;
  }

  const url = async (place: Place, port: number) => `http://127.0.0.1:${await net.reach(place, port)}`;
  const relayUrl = await url('server', p.relay);
  const stack: FieldStack = {
    token, robotId,
    appUrl: `${appOrigin}/`,
    relayUrlForPhone,
    bridgeUrlForPhone: opts.bridgeOnLink ? `http://${A.robot}:${p.bridge}` : null,
    talkUrlForRobot: `rtsps://${encodeURIComponent(robotId)}:${encodeURIComponent(robotPassword)}@${A.serverForRobot}:${p.rtsps}/robots/${robotId}/talk`,
    phoneChromiumArgs: [`--unsafely-treat-insecure-origin-as-secure=${appOrigin}`],
    bridgeUrl: await url('robot', p.bridge),
    simControlUrl: await url('robot', p.sim),
    relayUrl,
    mediamtxApiUrl: await url('server', p.api),
    mediamtxApiHeaders: { Authorization: `Basic ${Buffer.from(`havatar:${apiSecret}`).toString('base64')}` },
    invite: (role) => relayInvite(relayUrl, adminKey, robotId, role),
    procs,
    stop,
  };
  await waitFor('the robot publishing to MediaMTX through its link', async () => {
    const r = await fetch(`${stack.mediamtxApiUrl}/v3/paths/get/robots/${robotId}`, { headers: stack.mediamtxApiHeaders }).catch(() => null);
    return r?.ok ? ((await r.json()) as { ready: boolean }).ready : false;
  }, (ready) => ready, 30_000);
  return stack;
}
