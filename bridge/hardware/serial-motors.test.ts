// SerialMotors against the simulated ESP32 over a real socat pty: the same bytes the Pi sends to
// /dev/ttyUSB0.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { SerialPort } from 'serialport';
import { decodeSerial, encodeSerial, LineSplitter, SerialError, type SerialFrame } from '../../protocol/serial.ts';
import { SimulatedEsp32 } from '../sim/esp32.ts';
import { createPtyPair, type PtyPair } from '../sim/pty.ts';
import { SerialMotors, type SerialMotorsOptions } from './serial-motors.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function rig(opts: Partial<SerialMotorsOptions> = {}, dir?: string) {
  const pair = await createPtyPair(dir);
  cleanups.push(() => pair.close());
  const esp = new SimulatedEsp32({ path: pair.devicePath });
  await esp.open();
  cleanups.push(() => esp.close());
  const motors = new SerialMotors({ path: pair.hostPath, ...opts });
  cleanups.push(() => motors.close());
  await motors.open();
  await waitFor(() => motors.state.connected, 2000, 'motors connected');
  return { pair, esp, motors };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - start;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SerialMotors with the simulated ESP32', () => {
  it('set() moves the simulated wheels and resolves with the ack round trip', async () => {
    const { esp, motors } = await rig();
    const ack = await motors.set(0.5, -0.5);
    assert.ok(ack.rttMs >= 0 && ack.rttMs < 300, `rtt ${ack.rttMs}`);
    assert.equal(esp.targetLeft, 128);
    assert.equal(esp.targetRight, -128);
    // Ramped, not stepped: full scale takes 100 ms, so half scale is there well within 1 s.
    await waitFor(() => esp.left === 128 && esp.right === -128, 1000, 'wheels at target');
    await waitFor(() => Math.abs(motors.state.left - 128 / 255) < 1e-9 && Math.abs(motors.state.right + 128 / 255) < 1e-9, 1000, 'status reports the PWM');
    assert.notDeepEqual(esp.world.pose, { x: 0, y: 0, heading: 0 });
  });

  it('keeps the watchdog fed by re-sending the target while the bridge is alive', async () => {
    const { esp, motors } = await rig();
    await motors.set(0.3, 0.3);
    const before = esp.framesReceived;
    await sleep(1200);
    assert.equal(esp.watchdogTripped, false);
    assert.equal(esp.targetLeft, 77);
    // ~12 refreshes in 1.2 s at 100 ms; a loaded machine may miss some, never most.
    assert.ok(esp.framesReceived - before >= 6, `only ${esp.framesReceived - before} refreshes`);
  });

  it('stop() halts both tracks at once and keeps refreshing zero', async () => {
    const { esp, motors } = await rig();
    await motors.set(1, 1);
    await waitFor(() => esp.left === 255, 1000, 'full speed');
    await motors.stop();
    assert.equal(esp.left, 0);
    assert.equal(esp.right, 0);
    await sleep(250);
    const last = esp.lastMotorFrames.at(-1)!;
    assert.deepEqual([last.left, last.right], [0, 0]);
  });

  it('rejects non-numbers and out-of-range speeds without changing the target', async () => {
    const { esp, motors } = await rig();
    await motors.set(0.2, 0.2);
    for (const [l, r] of [[Number.NaN, 0], [0, Number.POSITIVE_INFINITY], [1.5, 0], [0, -2]] as const) {
      await assert.rejects(motors.set(l, r), RangeError);
    }
    await sleep(250);
    assert.equal(esp.targetLeft, 51);
    assert.equal(esp.targetRight, 51);
  });

  it('wraps the sequence number after 65535', async () => {
    const { esp, motors } = await rig({ firstSeq: 65534, refreshMs: 10_000 });
    // open() used 65534 for its status query.
    const a = await motors.set(0.1, 0.1);
    const b = await motors.set(0.2, 0.2);
    assert.deepEqual([a.seq, b.seq], [65535, 0]);
    assert.deepEqual(esp.lastMotorFrames.map((f) => f.seq), [65535, 0]);
  });

  it('closing stops the simulated robot at once', async () => {
    const { esp, motors } = await rig();
    await motors.set(0.8, 0.8);
    await waitFor(() => esp.left === 204, 1000, 'driving');
    await motors.close();
    const ms = await waitFor(() => esp.left === 0 && esp.right === 0, 500, 'stopped');
    assert.ok(ms < 200, `stopped after ${ms} ms`);
  });

  it('the ESP32 stops by itself within its watchdog when the refreshes stop', async () => {
    // A bridge that hangs (refresh far slower than the watchdog) looks dead to the board.
    const { esp, motors } = await rig({ refreshMs: 60_000 });
    await motors.set(0.8, 0.8);
    const start = performance.now();
    await waitFor(() => esp.watchdogTripped, 1500, 'watchdog');
    const ms = performance.now() - start;
    assert.ok(ms >= 450 && ms <= 700, `tripped after ${ms} ms`);
    assert.equal(esp.left, 0);
    assert.equal(esp.targetLeft, 0);
    await waitFor(() => motors.state.watchdogTripped, 1000, 'flag reported to the bridge');
  });

  it('reports the board disconnected after a second without status', async () => {
    const { esp, motors } = await rig();
    let disconnected = false;
    motors.once('disconnected', () => { disconnected = true; });
    await esp.close();
    const ms = await waitFor(() => disconnected, 2500, 'disconnected');
    assert.equal(motors.state.connected, false);
    assert.ok(ms >= 700, `declared disconnected too early (${ms} ms)`);
  });

  it('reopens the port when the pty disappears and comes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'havatar-reopen-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await createPtyPair(dir);
    const esp1 = new SimulatedEsp32({ path: first.devicePath });
    await esp1.open();
    const motors = new SerialMotors({ path: first.hostPath, reconnectMaxMs: 200 });
    cleanups.push(() => motors.close());
    await motors.open();
    await waitFor(() => motors.state.connected, 2000, 'first connection');
    await esp1.close();
    await first.close();
    await waitFor(() => motors.linkState === 'waiting', 1000, 'link noticed the port is gone');
    await assert.rejects(motors.set(0.5, 0.5), /not open/);
    const second = await createPtyPair(dir);
    cleanups.push(() => second.close());
    const esp2 = new SimulatedEsp32({ path: second.devicePath });
    await esp2.open();
    cleanups.push(() => esp2.close());
    await waitFor(() => motors.linkState === 'open', 2000, 'reopened');
    const ack = await motors.set(0.5, 0.5);
    assert.ok(ack.rttMs < 300);
    assert.equal(esp2.targetLeft, 128);
  });

  it('reads the battery from status frames and it drains while driving', async () => {
    const { esp, motors } = await rig();
    await waitFor(() => motors.state.battery !== null, 1000, 'battery');
    const idle = motors.state.battery!;
    assert.ok(idle.voltage > 8 && idle.voltage <= 8.4, `idle ${idle.voltage} V`);
    assert.ok(idle.percentage > 90);
    await motors.set(1, 1);
    await sleep(600);
    const driving = motors.state.battery!;
    assert.ok(driving.voltage < idle.voltage, `${driving.voltage} V driving vs ${idle.voltage} V idle`);
    assert.ok(esp.world.distanceM > 0.1);
  });
});

describe('simulated ESP32 against raw bytes', () => {
  async function rawRig() {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const esp = new SimulatedEsp32({ path: pair.devicePath });
    await esp.open();
    cleanups.push(() => esp.close());
    const port = new SerialPort({ path: pair.hostPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    cleanups.push(() => new Promise<void>((res) => port.close(() => res())));
    const frames: SerialFrame[] = [];
    const splitter = new LineSplitter();
    port.on('data', (b: Buffer) => {
      for (const l of splitter.push(b.toString('latin1'))) {
        const d = decodeSerial(l);
        if (d.ok) frames.push(d.frame);
      }
    });
    return { esp, port, frames };
  }

  it('frames a motor command through the pty and acks it', async () => {
    const { esp, port, frames } = await rawRig();
    port.write(encodeSerial({ type: 'M', seq: 7, left: 100, right: -100 }));
    await waitFor(() => frames.some((f) => f.type === 'A' && f.seq === 7), 1000, 'ack');
    assert.deepEqual(frames.find((f) => f.type === 'A'), { type: 'A', seq: 7, code: 0 });
    assert.equal(esp.targetLeft, 100);
  });

  it('answers $Q with an ack and a status frame at once', async () => {
    const { port, frames } = await rawRig();
    await sleep(50);
    frames.length = 0;
    port.write(encodeSerial({ type: 'Q', seq: 3 }));
    await waitFor(() => frames.some((f) => f.type === 'T'), 150, 'status after Q');
    assert.deepEqual(frames[0], { type: 'A', seq: 3, code: 0 });
  });

  it('never moves a motor on garbage, bad checksums or out-of-range values, and answers each', async () => {
    const { esp, port, frames } = await rawRig();
    const good = encodeSerial({ type: 'M', seq: 1, left: 200, right: 200 });
    const bad = [
      good.replace(/\*..\n/, '*00\n'), // checksum
      'hello robot\n', // syntax
      `$M,2,200,200,${'9'.repeat(80)}\n`, // too long
      encodeSerial({ type: 'A', seq: 1, code: 0 }), // a device frame sent to the device
      '$M,3,999,0*' + good.slice(-3, -1) + '\n', // out of range with a bad checksum: checksum wins
      encodeSerial({ type: 'M', seq: 4, left: 256, right: 0 }), // out of range: answered with its seq
      Buffer.from([0xff, 0x00, 0x24, 0x0a]).toString('latin1'), // binary noise
    ];
    let moved = false;
    esp.on('frame', () => { moved = true; });
    for (const b of bad) port.write(Buffer.from(b, 'latin1'));
    await waitFor(() => frames.filter((f) => f.type === 'E').length >= 6 && frames.some((f) => f.type === 'A'), 1500, 'answers');
    const codes = frames.filter((f) => f.type === 'E').map((f) => (f as { code: number }).code);
    for (const c of [SerialError.checksum, SerialError.syntax, SerialError.tooLong, SerialError.unknownType]) assert.ok(codes.includes(c), `no $E,${c} in ${codes}`);
    assert.deepEqual(frames.find((f) => f.type === 'A'), { type: 'A', seq: 4, code: 1 });
    assert.equal(moved, false);
    assert.equal(esp.targetLeft, 0);
    assert.equal(esp.lastMotorFrames.length, 0);
    assert.equal(esp.framesReceived, 0);
    assert.ok(esp.framesRejected >= 7, `rejected ${esp.framesRejected}`);
    // The link still works after the noise.
    port.write(good);
    await waitFor(() => esp.targetLeft === 200, 1000, 'good frame after noise');
  });
});

after(() => {
  for (const c of cleanups) void c();
});
