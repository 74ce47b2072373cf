// The simulated ESP32 as its own process (npm start and the end-to-end tests run it):
//   node --import tsx bridge/sim/esp32-main.ts [--device <path>] [--dir <dir>] [--control-port <n>]
// Prints one JSON line on stdout when ready:
//   {"event":"ready","serialPort":"<path the bridge opens>","controlUrl":"http://127.0.0.1:<port>"}
// and serves a loopback-only control API: GET /state, POST /battery {"mv": 7000}.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createLogger } from '../../common/log.ts';
import { watchParent } from '../../common/parent-watch.ts';
import { SimulatedEsp32 } from './esp32.ts';
import { createPtyPair, type PtyPair } from './pty.ts';
import { BATTERY_EMPTY_MV, BATTERY_FULL_MV } from './world.ts';

const log = createLogger('sim.esp32-main');
/** Control bodies are one small JSON object. */
const MAX_CONTROL_BODY_BYTES = 1024;

const { values } = parseArgs({
  options: {
    device: { type: 'string' },
    dir: { type: 'string' },
    'control-port': { type: 'string', default: '0' },
  },
});
const controlPort = Number(values['control-port']);
if (!Number.isInteger(controlPort) || controlPort < 0 || controlPort > 65535) {
  log.error('bad --control-port', { value: values['control-port'] });
  process.exit(2);
}

let pty: PtyPair | null = null;
let esp: SimulatedEsp32 | null = null;
let server: Server | null = null;

// Installed before anything is started, so a signal during start-up still cleans up socat.
let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  server?.closeAllConnections();
  server?.close();
  await esp?.close();
  await pty?.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
watchParent((why) => void stop(why));

let devicePath = values.device;
let hostPath = values.device ?? '';
if (!devicePath) {
  // socat stays in our process group: a supervisor that kills our group takes it down too.
  pty = await createPtyPair(values.dir, { ownGroup: false });
  devicePath = pty.devicePath;
  hostPath = pty.hostPath;
}

esp = new SimulatedEsp32({ path: devicePath });
try {
  await esp.open();
} catch (err) {
  log.error('cannot open the device side', { err, path: devicePath });
  await pty?.close();
  process.exit(1);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const sim = esp;
server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/state') return reply(res, 200, { serialPort: hostPath, ...sim.snapshot() });
  if (req.method === 'POST' && url === '/battery') {
    readJson(req).then(
      (body) => {
        const mv = (body as { mv?: unknown } | null)?.mv;
        if (typeof mv !== 'number' || !Number.isFinite(mv) || mv < BATTERY_EMPTY_MV || mv > BATTERY_FULL_MV) {
          return reply(res, 400, { ok: false, msg: `mv must be a number between ${BATTERY_EMPTY_MV} and ${BATTERY_FULL_MV}` });
        }
        sim.world.setBatteryMv(mv);
        reply(res, 200, { ok: true, batteryMv: sim.world.batteryMv });
      },
      () => reply(res, 400, { ok: false, msg: 'body must be JSON {"mv": <millivolts>}' }),
    );
    return;
  }
  reply(res, 404, { ok: false, msg: 'not found' });
});
await new Promise<void>((resolve) => server!.listen(controlPort, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
process.stdout.write(JSON.stringify({ event: 'ready', serialPort: hostPath, controlUrl: `http://127.0.0.1:${port}` }) + '\n');

