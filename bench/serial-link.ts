// Serial link benchmark: command round trip (set() → $M → simulated ESP32 → $A) through a real
// socat pty, and how long the board takes to stop on its own when the refreshes stop.
//   node --import tsx bench/serial-link.ts [--count 500]
// Prints one JSON object. The floor here is the pty + socat + event loop; a real UART at 115200
// adds ~1.5 ms for the 17-byte $M and ~1 ms for the ack.

import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { SERIAL_BAUD, encodeSerial } from '../protocol/serial.ts';
import { setLogLevel } from '../common/log.ts';
import { SerialMotors } from '../bridge/hardware/serial-motors.ts';
import { SimulatedEsp32 } from '../bridge/sim/esp32.ts';
import { createPtyPair } from '../bridge/sim/pty.ts';

setLogLevel((process.env.HAVATAR_LOG_LEVEL as 'debug' | undefined) ?? 'error');
const { values } = parseArgs({ options: { count: { type: 'string', default: '500' } } });
const count = Math.max(10, Number(values.count) || 500);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
};

const pair = await createPtyPair();
// Interrupted (Ctrl-C, a timeout): socat lives in its own process group, so take it down here.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void pair.close().then(() => process.exit(130)));
const esp = new SimulatedEsp32({ path: pair.devicePath });
await esp.open();
const motors = new SerialMotors({ path: pair.hostPath });
try {
  await motors.open();
  while (!motors.state.connected) await new Promise((r) => setTimeout(r, 10));

  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const { rttMs } = await motors.set(((i % 20) - 10) / 10, ((i % 7) - 3) / 3);
    rtts.push(rttMs);
  }

  await motors.close();

  // Watchdog: one motor frame on a raw port, then silence, which is what a crashed bridge looks
  // like from the board (SerialMotors itself would reconnect and keep refreshing).
  const raw = new SerialPort({ path: pair.hostPath, baudRate: SERIAL_BAUD, autoOpen: false });
  await new Promise<void>((res, rej) => raw.open((e) => (e ? rej(e) : res())));
  raw.write(encodeSerial({ type: 'M', seq: 1, left: 200, right: 200 }));
  await new Promise<void>((res) => raw.drain(() => res()));
  const silentSince = performance.now();
  while (!esp.watchdogTripped) await new Promise((r) => setTimeout(r, 1));
  const watchdogStopMs = Math.round(performance.now() - silentSince);
  await new Promise<void>((res) => raw.close(() => res()));

  console.log(JSON.stringify({
    bench: 'serial-link', count,
    rttMs: { p50: pct(rtts, 50), p95: pct(rtts, 95), p99: pct(rtts, 99), max: pct(rtts, 100) },
    watchdogStopMs,
    espFramesReceived: esp.framesReceived, espFramesRejected: esp.framesRejected,
  }));
} finally {
  await motors.close();
  await esp.close();
  await pair.close();
}
