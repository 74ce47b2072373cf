// `npm start`: the whole system on this machine — simulated robot (ESP32 on a pty, synthetic camera
// and microphone), the bridge serving the app — and prints the link to open. Ctrl-C stops every
// child process.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOT, startStack, type Stack } from './stack.ts';

const dataDir = process.env.HAVATAR_DATA_DIR ?? join(ROOT, '.havatar');
const host = process.env.HAVATAR_HOST ?? '0.0.0.0';
const verbose = process.argv.includes('--verbose');
mkdirSync(dataDir, { recursive: true });

// The bridge keeps only a hash of the operator token. For the simulator on a laptop we keep the
// clear token beside it (owner-only) so the printed link stays the same across restarts.
const tokenFile = join(dataDir, 'dev-operator-token');
let token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
if (!token) {
  token = randomBytes(24).toString('base64url');
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
}
chmodSync(tokenFile, 0o600);

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

try {
  console.log('starting the simulated robot and the bridge…');
  stack = await startStack({
    dataDir,
    token,
    host,
    ports: { bridge: 5000, bridgeHttps: 5443, simControl: 5010 },
    log: verbose ? (name, line) => console.log(`[${name}] ${line}`) : undefined,
  });
} catch (err) {
  console.error(String(err instanceof Error ? err.message : err));
  await shutdown(1);
}

console.log(`
Havatar is running (simulated robot).

  Open:  http://127.0.0.1:5000/#token=${token}
${lanAddresses.map((a) => `  Phone on this network (accept the self-signed certificate once):  https://${a}:5443/#token=${token}`).join('\n')}

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
