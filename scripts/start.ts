// `npm start`: the whole system on this machine — simulated robot (ESP32 on a pty, synthetic camera
// and microphone), the bridge serving the app — and prints the link to open. Ctrl-C stops every
// child process.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOT, STANDARD_SERVER_PORTS, freePort, type ServerPorts, startStack, type Stack } from './stack.ts';

const dataDir = process.env.HAVATAR_DATA_DIR ?? join(ROOT, '.havatar');
const host = process.env.HAVATAR_HOST ?? '0.0.0.0';
const verbose = process.argv.includes('--verbose');
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

let stack: Stack | undefined;
let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await stack?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

// HAVATAR_PORTS=auto picks free ports (a second stack beside a running one, or the start test).
const autoPorts = process.env.HAVATAR_PORTS === 'auto';
const ports = autoPorts
  ? { bridge: await freePort(), bridgeHttps: await freePort(), simControl: await freePort() }
  : { bridge: 5000, bridgeHttps: 5443, simControl: 5010 };
const serverPorts: ServerPorts = autoPorts
  ? { relay: await freePort(), rtsp: await freePort(), webrtc: await freePort(), webrtcUdp: await freePort(), hls: await freePort(), api: await freePort(), metrics: await freePort() }
  : STANDARD_SERVER_PORTS;
const appUrl = `http://127.0.0.1:${ports.bridge}/`;

try {
  console.log('starting MediaMTX, the relay, the simulated robot and the bridge…');
  const appOrigins = [`http://127.0.0.1:${ports.bridge}`, `http://localhost:${ports.bridge}`, `https://127.0.0.1:${ports.bridgeHttps}`, ...lanAddresses.map((a) => `https://${a}:${ports.bridgeHttps}`)];
  stack = await startStack({
    dataDir,
    token,
    host,
    ports,
    server: { ports: serverPorts, appOrigins, appUrl, loopbackOnly: autoPorts },
    secrets: { adminKey, robotPassword },
    log: verbose ? (name, line) => console.log(`[${name}] ${line}`) : undefined,
  });
} catch (err) {
  console.error(String(err instanceof Error ? err.message : err));
  await shutdown(1);
}

const { invite } = await stack!.server!.invite('driver', '24h');
const serverQuery = `?invite=${invite}&server=${encodeURIComponent(stack!.server!.relayUrl)}`;

console.log(`
Havatar is running (simulated robot, local and server mode).

  Open:  ${appUrl}${serverQuery}#token=${token}
${lanAddresses.map((a) => `  Phone on this network, local mode (accept the self-signed certificate once):  https://${a}:${ports.bridgeHttps}/#token=${token}`).join('\n')}

  Relay:            ${stack!.server!.relayUrl}/api/status   (admin key in ${join(dataDir, 'dev-relay-admin-key')})
  MediaMTX:         rtsp://127.0.0.1:${serverPorts.rtsp}, WebRTC :${serverPorts.webrtc}, HLS :${serverPorts.hls}
  Simulator state:  ${stack!.simControlUrl}/state
  Data and config:  ${dataDir}
Press Ctrl-C to stop.`);

for (const p of stack!.procs) {
  void p.exited.then((code) => {
    if (stopping) return;
    console.error(`${p.name} exited unexpectedly (code ${code}); stopping.`);
    void shutdown(1);
  });
}
