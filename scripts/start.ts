// `npm start`: the whole system on this machine — simulated robot (ESP32 on a pty, synthetic camera
// and microphone), the bridge serving the app — and prints the link to open. Ctrl-C, SIGTERM,
// SIGHUP or an error stops every child process at whatever stage startup is in (scripts/children.ts
// knows each from its spawn); if this process is killed outright, its reaper stops them.
//
// Server mode (the relay, MediaMTX and its plain RTSP) listens on 127.0.0.1 only: `npm start --
// --lan` (or HAVATAR_LAN=1) opens it to phones on the network through an HTTPS front (the robot
// CA's certificate; scripts/https-front.ts) and WebRTC media on the LAN address (scripts/stack.ts).
// Environment: HAVATAR_DATA_DIR, HAVATAR_HOST (bridge bind address, default 0.0.0.0: local mode
// for phones), HAVATAR_LAN=1, HAVATAR_PORTS=auto (free ports) or a list such as
// `bridge=5100,relay=3100` (the others keep their standard port),
// HAVATAR_PROGRESS=1: one JSON line per startup step on stdout, {"event":"progress","stage":…}.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { renderUnicodeCompact } from 'uqr';
import { ROOT, STANDARD_SERVER_PORTS, freePort, type Ports, type ServerPorts, startStack, type Stack } from './stack.ts';
import { stopAllChildren, trackedChildren } from './children.ts';
import { describeConflicts, portConflicts, type PortNeed } from './ports.ts';
import { MEDIAMTX_PORTS } from '../protocol/limits.ts';

const dataDir = process.env.HAVATAR_DATA_DIR ?? join(ROOT, '.havatar');
const host = process.env.HAVATAR_HOST ?? '0.0.0.0';
const verbose = process.argv.includes('--verbose');
const lan = process.argv.includes('--lan') || process.env.HAVATAR_LAN === '1';
mkdirSync(dataDir, { recursive: true });

// The bridge keeps only a hash of the operator token. For the simulator on a laptop we keep the
// clear token beside it (owner-only) so the printed link stays the same across restarts.
function devSecret(name: string): string {
  const file = join(dataDir, name);
  let value = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!value) {
    value = randomBytes(24).toString('base64url');
    writeFileSync(file, value + '\n', { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return value;
}
const token = devSecret('dev-operator-token');
const adminKey = devSecret('dev-relay-admin-key');
const robotPassword = devSecret('dev-robot-password');

const lanAddresses = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a && a.family === 'IPv4' && !a.internal)
  .map((a) => a!.address);

const showProgress = process.env.HAVATAR_PROGRESS === '1';
function progress(p: object): void {
  if (showProgress) console.log(JSON.stringify({ event: 'progress', ...p }));
}

let stack: Stack | undefined;
let stopping = false;
async function shutdown(code: number, why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  progress({ stage: 'stopping', why, children: trackedChildren() });
  console.log('\nstopping…');
  // The bridge first: it stops the motors before the simulated ESP32 goes away.
  const leftovers = await stopAllChildren({ first: ['bridge'] });
  // Its parent should have stopped it: worth a look when it happens.
  for (const l of leftovers) console.error(`killed a leftover process, pid ${l.pid}: ${l.command}`);
  progress({ stage: 'stopped', leftovers: leftovers.length });
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0, signal));
process.on('uncaughtException', (err) => {
  console.error(err);
  void shutdown(1, 'error');
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  void shutdown(1, 'error');
});
// A closed terminal or pipe must not turn the shutdown's own messages into a crash halfway.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
// A parent killed outright (a test runner, a CI job) sends no SIGHUP: once this process has been
// handed to another parent, nobody is there to stop it, so it stops itself.
const parentAtStart = process.ppid;
setInterval(() => { if (process.ppid !== parentAtStart) void shutdown(0, 'parent gone'); }, 500).unref();
progress({ stage: 'begin' });

const PORT_NAMES = ['bridge', 'bridgeHttps', 'simControl', 'relay', 'rtsp', 'webrtc', 'webrtcUdp', 'hls', 'api', 'metrics', 'playback', 'serverHttps'] as const;
type PortName = (typeof PORT_NAMES)[number];

/** HAVATAR_PORTS: unset (the standard ports), `auto`, or `name=port,…` over the standard ones. */
async function choosePorts(spec: string | undefined): Promise<Record<PortName, number>> {
  const standard: Record<PortName, number> = { bridge: 5000, bridgeHttps: 5443, simControl: 5010, ...STANDARD_SERVER_PORTS, playback: MEDIAMTX_PORTS.playback, serverHttps: 3443 };
  if (spec === 'auto') {
    const out = { ...standard };
    for (const name of PORT_NAMES) out[name] = await freePort();
    return out;
  }
  const out = { ...standard };
  for (const item of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value] = item.split('=') as [string, string | undefined];
    const port = Number(value);
    if (!(PORT_NAMES as readonly string[]).includes(name) || !Number.isInteger(port) || port < 1 || port > 65535) {
      console.error(`HAVATAR_PORTS: "${item}" is not name=port with a name among ${PORT_NAMES.join(', ')}`);
      process.exit(2);
    }
    out[name as PortName] = port;
  }
  return out;
}

async function main(): Promise<void> {
  const chosen = await choosePorts(process.env.HAVATAR_PORTS);
  const ports: Ports = { bridge: chosen.bridge, bridgeHttps: chosen.bridgeHttps, simControl: chosen.simControl };
  const serverPorts: ServerPorts = { relay: chosen.relay, rtsp: chosen.rtsp, webrtc: chosen.webrtc, webrtcUdp: chosen.webrtcUdp, hls: chosen.hls, api: chosen.api, metrics: chosen.metrics, playback: chosen.playback };
  const appUrl = `http://127.0.0.1:${ports.bridge}/`;
  if (lan && !lanAddresses.length) {
    console.error('--lan: this machine has no network address besides loopback, so there is no LAN to open server mode to.');
    process.exit(2);
  }
  const lanOptions = lan ? { addresses: lanAddresses, httpsPort: chosen.serverHttps } : undefined;
  // The robot's HTTPS address on the LAN: where a phone opens the app, and where invite links point.
  const phoneAppUrl = lan ? `https://${lanAddresses[0]}:${ports.bridgeHttps}/` : appUrl;

  // Everything checked before anything starts: a held port names its holder, and nothing is left
  // half-started behind the message.
  const serverHost = '127.0.0.1';
  const needs: PortNeed[] = [
    { what: 'bridge HTTP', port: ports.bridge, host, proto: 'tcp' },
    { what: 'bridge HTTPS', port: ports.bridgeHttps, host, proto: 'tcp' },
    { what: 'simulator state', port: ports.simControl, host: '127.0.0.1', proto: 'tcp' },
    { what: 'relay', port: serverPorts.relay, host: serverHost, proto: 'tcp' },
    { what: 'MediaMTX RTSP', port: serverPorts.rtsp, host: serverHost, proto: 'tcp' },
    { what: 'MediaMTX WebRTC', port: serverPorts.webrtc, host: serverHost, proto: 'tcp' },
    { what: 'MediaMTX WebRTC media', port: serverPorts.webrtcUdp, host: lan ? '0.0.0.0' : serverHost, proto: 'udp' },
    { what: 'MediaMTX HLS', port: serverPorts.hls, host: serverHost, proto: 'tcp' },
    { what: 'MediaMTX API', port: serverPorts.api, host: '127.0.0.1', proto: 'tcp' },
    { what: 'MediaMTX metrics', port: serverPorts.metrics, host: '127.0.0.1', proto: 'tcp' },
    { what: 'MediaMTX playback (recordings)', port: chosen.playback, host: '127.0.0.1', proto: 'tcp' },
    ...(lan ? [{ what: 'HTTPS front (--lan)', port: chosen.serverHttps, host: '0.0.0.0', proto: 'tcp' as const }] : []),
  ];
  const conflicts = await portConflicts(needs);
  if (conflicts.length) {
    console.error(`Cannot start: a port Havatar needs is taken.\n${describeConflicts(conflicts)}`);
    process.exit(1);
  }
  progress({ stage: 'ports' });

  try {
    console.log('starting MediaMTX, the relay, the simulated robot and the bridge…');
    const appOrigins = [`http://127.0.0.1:${ports.bridge}`, `http://localhost:${ports.bridge}`, `https://127.0.0.1:${ports.bridgeHttps}`, ...lanAddresses.map((a) => `https://${a}:${ports.bridgeHttps}`)];
    stack = await startStack({
      dataDir,
      token,
      host,
      ports,
      server: { ports: serverPorts, appOrigins, appUrl: phoneAppUrl, lan: lanOptions },
      secrets: { adminKey, robotPassword },
      log: verbose ? (name, line) => console.log(`[${name}] ${line}`) : undefined,
      progress,
    });
  } catch (err) {
    // A stop during startup fails the start too; that is no error to report.
    if (!stopping) console.error(String(err instanceof Error ? err.message : err));
    return shutdown(1, 'failed');
  }
  if (stopping) return;

  const { invite } = await stack.server!.invite('driver', '24h');
  if (stopping) return;
  const serverQuery = `?invite=${invite}&server=${encodeURIComponent(stack.server!.relayUrl)}`;
  // A phone in server mode needs an invite of its own (each is single-use) and the front's address;
  // the operator token rides along for the local fallback (Auto mode).
  const lanUrl = stack.server!.lanUrl;
  const phoneServerLink = lanUrl && `${phoneAppUrl}?invite=${(await stack.server!.invite('driver', '24h')).invite}&server=${encodeURIComponent(lanUrl)}#token=${token}`;
  if (stopping) return;

  console.log(`
Havatar is running (simulated robot, local and server mode).

  Open:  ${appUrl}${serverQuery}#token=${token}
${lanAddresses.map((a) => `  Phone on this network, local mode:  https://${a}:${ports.bridgeHttps}/#token=${token}\n    First trust this robot once on the phone: http://${a}:${ports.bridge}/ca.crt (docs/SETUP_ROBOT.md, section 4)`).join('\n')}${phoneServerLink ? `\n  Phone on this network, server mode: ${phoneServerLink}` : ''}

  Relay:            ${stack.server!.relayUrl}/api/status   (counts; details with the admin key in ${join(dataDir, 'dev-relay-admin-key')})
  Server mode:      ${lan ? `open to this network (--lan): ${lanAddresses.map((a) => `https://${a}:${chosen.serverHttps}`).join(', ')} (relay, WHEP/WHIP, HLS; the robot's certificate), WebRTC media UDP :${serverPorts.webrtcUdp}` : 'this machine only (127.0.0.1); `npm start -- --lan` opens it to this network'}
  MediaMTX:         rtsp://127.0.0.1:${serverPorts.rtsp}, WebRTC :${serverPorts.webrtc}, HLS :${serverPorts.hls}, recordings (playback) :${serverPorts.playback}
  Simulator state:  ${stack.simControlUrl}/state
  Data and config:  ${dataDir}
Press Ctrl-C to stop.`);
  // The phone link as a QR code, so nobody types a 32-character token on a phone. uqr draws the
  // light modules as full blocks: right for the usual dark terminal.
  // With --lan, the server-mode link (it carries the token, so Auto falls back to local mode).
  const phoneLink = phoneServerLink ?? (lanAddresses[0] && `https://${lanAddresses[0]}:${ports.bridgeHttps}/#token=${token}`);
  if (phoneLink) console.log(`\nScan with the phone's camera (${phoneServerLink ? 'server mode' : 'local mode'}, ${lanAddresses[0]}):\n${renderUnicodeCompact(phoneLink, { border: 2 })}`);
  progress({ stage: 'running' });

  for (const p of stack.procs) {
    void p.exited.then((code) => {
      if (stopping) return;
      console.error(`${p.name} exited unexpectedly (code ${code}); stopping.`);
      void shutdown(1, `${p.name} exited`);
    });
  }
}

await main();
