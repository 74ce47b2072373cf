// Drive through a bad link: a driver holds the stick for a few seconds while a proxy
// (bridge/test/stall-proxy.ts) delays its bytes with jitter or stalls them as a TCP
// retransmission does, and the simulated wheels are watched. Then the driver really leaves behind
// a stall, and the stop is timed from its last command that reached the robot.
//   node --import tsx bench/drive-stalls.ts [--seconds 6] [--intervals 40,20]
// Smooth = the share of 10 ms samples of the simulator's wheels (after the first ramp) at the
// commanded speed; a deadman stop shows as the wheels at zero until the next command ramps them up.
import { startRig, Operator, drive, type Rig } from '../bridge/test/harness.ts';
import { StallProxy } from '../bridge/test/stall-proxy.ts';
import { arg, emitResult, machine, round1, sleep } from './lib/util.ts';

const SECONDS = Math.max(2, Number(arg('seconds', '6')));
const INTERVALS = arg('intervals', '40,20').split(',').map(Number);
const SPEED = 0.6;
const PWM = Math.round(SPEED * 255);

interface Scenario { name: string; delayMs: number; jitterMs: number; stallMs: number; stallEveryMs: number }
const SCENARIOS: Scenario[] = [
  { name: 'clean', delayMs: 0, jitterMs: 0, stallMs: 0, stallEveryMs: 0 },
  { name: 'delay 30 + jitter 0-60 ms', delayMs: 30, jitterMs: 60, stallMs: 0, stallEveryMs: 0 },
  { name: 'delay 50 + jitter 0-150 ms', delayMs: 50, jitterMs: 150, stallMs: 0, stallEveryMs: 0 },
  { name: 'stall 150 ms every 1.5 s', delayMs: 0, jitterMs: 0, stallMs: 150, stallEveryMs: 1500 },
  { name: 'stall 200 ms every 1.5 s', delayMs: 0, jitterMs: 0, stallMs: 200, stallEveryMs: 1500 },
  { name: 'stall 250 ms every 1.5 s', delayMs: 0, jitterMs: 0, stallMs: 250, stallEveryMs: 1500 },
  { name: 'stall 400 ms every 1.5 s', delayMs: 0, jitterMs: 0, stallMs: 400, stallEveryMs: 1500 },
];

async function takeLease(op: Operator): Promise<void> {
  await op.next((m) => m.type === 'lease' && (m.driver === null || m.you), 5000);
  const from = op.mark();
  op.send({ v: 1, type: 'lease', action: 'take' });
  await op.next((m) => m.type === 'lease' && m.you, 5000, from);
}

async function run(rig: Rig, s: Scenario, intervalMs: number) {
  const proxy = await StallProxy.start({ targetPort: rig.httpPort, delayMs: s.delayMs, jitterMs: s.jitterMs });
  const op = await Operator.connect({ httpPort: proxy.port });
  try {
    await takeLease(op);
    const mark = op.mark();
    let samples = 0;
    let smooth = 0;
    let driving = true;
    const t0 = performance.now();
    // The sender's own longest gap: on a loaded machine this process can be starved too, and a
    // gap that is ours, not the link's, must be told apart.
    let maxSendGapMs = 0;
    const sender = (async () => {
      let last = performance.now();
      while (driving) {
        op.send(drive(SPEED, SPEED));
        const now = performance.now();
        maxSendGapMs = Math.max(maxSendGapMs, now - last);
        last = now;
        await sleep(intervalMs);
      }
    })();
    const stalls = (async () => {
      if (!s.stallEveryMs) return;
      for (let at = s.stallEveryMs; at < SECONDS * 1000 - s.stallMs; at += s.stallEveryMs) {
        await sleep(Math.max(0, t0 + at - performance.now()));
        proxy.stall(s.stallMs);
      }
    })();
    await sleep(300); // the first ramp
    while (performance.now() - t0 < SECONDS * 1000) {
      const st = await rig.simState();
      samples++;
      if (st.left === PWM) smooth++;
      await sleep(10);
    }
    driving = false;
    await sender;
    await stalls;
    const deadmanStops = op.messages.slice(mark).filter((m) => m.type === 'stopped' && m.reason === 'deadman').length;
    const acks = op.messages.slice(mark).filter((m) => m.type === 'ack');
    const notApplied = acks.filter((m) => m.type === 'ack' && m.result !== 'applied').length;
    op.send({ v: 1, type: 'stop' });
    return { scenario: s.name, intervalMs, smoothPct: round1((100 * smooth) / Math.max(1, samples)), samples, deadmanStops, commands: acks.length, notApplied, maxSendGapMs: round1(maxSendGapMs) };
  } finally {
    await op.close();
    await proxy.close();
  }
}

/** The driver leaves during a stall: its last commands never arrive. Stop time from the last one that did. */
async function departureBehindStall(rig: Rig, intervalMs: number, stallMs: number) {
  const proxy = await StallProxy.start({ targetPort: rig.httpPort });
  const op = await Operator.connect({ httpPort: proxy.port });
  try {
    await takeLease(op);
    const before = (await rig.simState()).lastStopAt;
    let lastArrivedT = 0;
    for (let i = 0; i < 10; i++) { const d = drive(SPEED, SPEED); op.send(d); lastArrivedT = d.t; await sleep(intervalMs); }
    proxy.stall(stallMs);
    for (let i = 0; i < 3; i++) { op.send(drive(SPEED, SPEED)); await sleep(intervalMs); }
    proxy.cut();
    let s = await rig.simState();
    for (let i = 0; i < 200 && s.lastStopAt === before; i++) { await sleep(10); s = await rig.simState(); }
    return s.lastStopAt === before ? null : s.lastStopAt! - lastArrivedT;
  } finally {
    op.ws.terminate();
    await proxy.close();
  }
}

const rig = await startRig();
try {
  const m = machine();
  const rows = [];
  for (const intervalMs of INTERVALS) {
    for (const s of SCENARIOS) {
      const r = await run(rig, s, intervalMs);
      console.error(JSON.stringify(r));
      rows.push(r);
      await sleep(300);
    }
  }
  const departures = [];
  for (const intervalMs of INTERVALS) {
    for (let i = 0; i < 5; i++) departures.push({ intervalMs, stallMs: 150, stopAfterLastArrivedMs: await departureBehindStall(rig, intervalMs, 150) });
  }
  console.error(JSON.stringify(departures));
  emitResult({ bench: 'drive-stalls', seconds: SECONDS, machine: m, loadAfter: machine().load, rows, departures });
} finally {
  await rig.stop();
}
