// The bridge as a process.
//   node --import tsx bridge/main.ts [--port 5000] [--https-port 5443] [--data-dir DIR]
//                                    [--serial PATH] [--host 127.0.0.1|0.0.0.0]
//   node --import tsx bridge/main.ts token --reset     prints a new operator token, once
// Prints one JSON line on stdout when ready: {"event":"listening","http":5000,"https":5443}.
// HAVATAR_OPERATOR_TOKEN sets (or resets) the token; HAVATAR_DATA_DIR the data dir (~/.havatar).
// SIGINT/SIGTERM: stop the motors, stop every FFmpeg child, close the servers, exit.

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mkdir } from 'node:fs/promises';
import { createLogger } from '../common/log.ts';
import { watchParent } from '../common/parent-watch.ts';
import { createBridge, type Bridge } from './app.ts';
import { MIN_TOKEN_CHARS, TokenStore } from './auth/token-store.ts';

const log = createLogger('bridge');

const USAGE = `usage: node --import tsx bridge/main.ts [--port 5000] [--https-port 5443|off] [--host 127.0.0.1|0.0.0.0]
                                   [--data-dir DIR] [--serial /dev/havatar-esp32]
       node --import tsx bridge/main.ts token --reset [--data-dir DIR]   prints a new operator token once
env: HAVATAR_DATA_DIR (default ~/.havatar), HAVATAR_OPERATOR_TOKEN (sets the token, at least 16 characters), HAVATAR_LOG_LEVEL`;

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '5000' },
      'https-port': { type: 'string', default: '5443' },
      'data-dir': { type: 'string' },
      serial: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      reset: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const dataDir = resolve(values['data-dir'] ?? process.env.HAVATAR_DATA_DIR ?? join(homedir(), '.havatar'));

function port(name: string, text: string | undefined): number | null {
  if (text === 'off') return null;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`--${name} must be a port number (0 picks a free one) or "off"`);
    process.exit(2);
  }
  return n;
}

if (positionals[0] === 'token') {
  if (!values.reset) {
    console.error('usage: bridge/main.ts token --reset   (prints a new operator token; the old one stops working)');
    process.exit(2);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { newToken } = await TokenStore.open(dataDir, { regenerate: true });
  // Shown once, on the terminal only: only its hash is stored.
  console.log(newToken);
  process.exit(0);
} else if (positionals.length) {
  console.error(`unknown command: ${positionals.join(' ')}`);
  process.exit(2);
}

const httpPort = port('port', values.port) ?? 5000;
const httpsPort = port('https-port', values['https-port']);
const operatorToken = process.env.HAVATAR_OPERATOR_TOKEN || undefined;
// Children (FFmpeg, espeak-ng) inherit the environment: the token must not travel with it.
delete process.env.HAVATAR_OPERATOR_TOKEN;
// The token is all that stands between the network and the motors: a short one would fall to
// guessing even at the brake's pace. Refused before anything is stored; the token is not echoed.
if (operatorToken !== undefined && operatorToken.length < MIN_TOKEN_CHARS) {
  console.error(`HAVATAR_OPERATOR_TOKEN must have at least ${MIN_TOKEN_CHARS} characters (unset it to have one generated and shown once)`);
  process.exit(2);
}
// The MALLOC_* tunables (the systemd unit, scripts/stack.ts) are for this process only: glibc read
// them at start. The multi-threaded FFmpeg encoders keep their per-thread arenas and glibc's
// defaults (with one arena the publisher's FFmpeg took 20 % CPU instead of 13 % in an A/B run,
// docs/PERFORMANCE.md).
for (const key of Object.keys(process.env)) if (key.startsWith('MALLOC_')) delete process.env[key];

let bridge: Bridge;
try {
  bridge = await createBridge({
    dataDir, host: values.host, httpPort, httpsPort, log,
    ...(values.serial ? { serialPath: values.serial } : {}),
    ...(operatorToken ? { operatorToken } : {}),
  });
} catch (err) {
  log.error('bridge failed to start', { err });
  process.exit(1);
}

if (bridge.newToken) {
  // First start without a launcher-provided token: the one and only time it is shown.
  console.log(JSON.stringify({ event: 'operator_token', token: bridge.newToken, note: 'shown once; reset with: bridge/main.ts token --reset' }));
}
console.log(JSON.stringify({ event: 'listening', http: bridge.httpPort, https: bridge.httpsPort }));

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('shutting down', { signal });
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, 8000);
  force.unref();
  try {
    await bridge.close();
  } catch (err) {
    log.error('shutdown failed', { err });
  }
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
watchParent((why) => void shutdown(why));
