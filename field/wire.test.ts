// The network emulator measured through real namespaces: traffic probes on either side of the
// robot's link (robot → server is the wire's aToB) check delay, loss, bursts, the rate cap and its
// queue, order under jitter, and outages, each against the wire's own counters. Loss draws are
// seeded and IPv6 chatter is off on the links, so the same packets meet the same fate every run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchCommand, jsonEvent } from '../scripts/stack.ts';
import { waitFor } from '../common/wait.ts';
import { createFieldNet, fieldNetMissing, type FieldNet, type Place } from './netns.ts';
import type { DirectionCounters, WireProfile } from './wire.ts';

const missing = fieldNetMissing();
const skip = missing ? `field network: ${missing}` : false;
let net: FieldNet;

before(async () => {
  if (!missing) net = await createFieldNet({ robotLink: {}, phoneLink: {} });
});
after(async () => { await net?.close(); });

const PROBE = new URL('./probe.ts', import.meta.url).pathname;

/** Starts a probe inside a place; `ready` is its ready line, `result` its result line. */
async function probe(place: Place, args: string[]) {
  let resolveResult!: (v: Record<string, unknown>) => void;
  const result = new Promise<Record<string, unknown>>((r) => { resolveResult = r; });
  const [cmd, full] = net.wrap(place, process.execPath, ['--import', 'tsx', PROBE, ...args]);
  const proc = await launchCommand(`probe-${args[0]}`, cmd, full, jsonEvent('ready'), {
    log: (_, line) => { const r = jsonEvent('result')(line); if (r) resolveResult(r); },
  });
  void proc.exited.then(() => resolveResult({ event: 'result', error: 'probe exited without a result' }));
  return { ready: proc.ready, result };
}

function delta(after: DirectionCounters, before: DirectionCounters): DirectionCounters {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof DirectionCounters)[]) if (k !== 'maxQueueBytes') out[k] -= before[k];
  return out;
}

interface UdpRun { arrivals: [number, number, number][]; sent: number; up: DirectionCounters }

/** Applies `profile` to the robot's link and streams UDP robot → server; `during` runs mid-stream. */
async function udpRun(profile: WireProfile, send: { count: number; intervalMs: number; size?: number; idleMs?: number }, during?: () => Promise<void>): Promise<UdpRun> {
  await net.links.robot.apply(profile);
  const before = (await net.links.robot.stats()).aToB;
  const sink = await probe('server', ['udp-sink', '--idle-ms', String(send.idleMs ?? 800)]);
  const sender = await probe('robot', ['udp-send', '--to', `${net.addresses.serverForRobot}:${String(sink.ready.port)}`,
    '--count', String(send.count), '--interval-ms', String(send.intervalMs), '--size', String(send.size ?? 200)]);
  await during?.();
  const sent = Number((await sender.result).sent);
  const { arrivals } = (await sink.result) as unknown as { arrivals: UdpRun['arrivals'] };
  const up = delta((await net.links.robot.stats()).aToB, before);
  return { arrivals, sent, up };
}

const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]!; };

test('delay: one-way ≈ the profile delay, a TCP connect ≈ twice it', { skip }, async () => {
  const run = await udpRun({ aToB: { delayMs: 40 }, bToA: { delayMs: 40 } }, { count: 100, intervalMs: 10 });
  assert.equal(run.arrivals.length, 100);
  const oneWay = quantile(run.arrivals.map((a) => a[1]), 0.5);
  // Lower bounds are the delay applied; upper ones leave room for a busy machine's late timers.
  assert.ok(oneWay >= 40 && oneWay < 55, `one-way p50 ${oneWay.toFixed(1)} ms, want 40-55`);

  const listener = await probe('server', ['tcp-listen']);
  const port = String(listener.ready.port);
  const connect = await probe('robot', ['tcp-connect', '--to', `${net.addresses.serverForRobot}:${port}`, '--count', '10']);
  const rtt = quantile((await connect.result).connectMs as number[], 0.5);
  console.log(`# delay 40 ms each way: UDP one-way p50 ${oneWay.toFixed(1)} ms, TCP connect p50 ${rtt.toFixed(1)} ms`);
  assert.ok(rtt >= 80 && rtt < 100, `TCP connect p50 ${rtt.toFixed(1)} ms, want 80-100`);
});

test('random loss: the rate lost is the profile\'s, and the wire counts it', { skip }, async () => {
  const run = await udpRun({ aToB: { lossPct: 5 }, seed: 11 }, { count: 2000, intervalMs: 1 });
  const lost = run.sent - run.arrivals.length;
  console.log(`# 5 % loss: ${lost} of ${run.sent} lost; wire dropLoss ${run.up.dropLoss}`);
  // 2000 packets at 5 %: mean 100, sd 9.7; 40..160 is over 6 sd (and the draws are seeded).
  assert.ok(lost >= 40 && lost <= 160, `${lost} lost`);
  // Every packet the sink missed is one the wire dropped on purpose. (A straggler of the previous
  // test's TCP teardown may cross the link too: a little slack on both counts.)
  assert.ok(run.up.dropLoss >= lost && run.up.dropLoss <= lost + 2, `wire dropLoss ${run.up.dropLoss}, sink missed ${lost}`);
  assert.ok(run.up.inPackets >= run.sent && run.up.inPackets <= run.sent + 5, `${run.up.inPackets} entered for ${run.sent} sent`);
});

/** Mean length of runs of consecutive missing sequence numbers. */
function meanLossRun(arrivals: [number, number, number][], sent: number): number {
  const got = new Set(arrivals.map((a) => a[0]));
  let runs = 0;
  let lost = 0;
  for (let i = 0; i < sent; i++) {
    if (got.has(i)) continue;
    lost++;
    if (i === 0 || got.has(i - 1)) runs++;
  }
  return runs ? lost / runs : 0;
}

test('Gilbert-Elliott loss comes in bursts of the model\'s length; random loss does not', { skip }, async () => {
  const ge = await udpRun({ aToB: { burst: { pGoodToBad: 0.01, pBadToGood: 0.25, lossInBadPct: 100 } }, seed: 5 }, { count: 3000, intervalMs: 1 });
  const geLoss = (ge.sent - ge.arrivals.length) / ge.sent * 100;
  const geRun = meanLossRun(ge.arrivals, ge.sent);
  const rnd = await udpRun({ aToB: { lossPct: 4 }, seed: 5 }, { count: 3000, intervalMs: 1 });
  const rndRun = meanLossRun(rnd.arrivals, rnd.sent);
  console.log(`# GE: ${geLoss.toFixed(1)} % lost, mean burst ${geRun.toFixed(2)} packets; random 4 %: mean burst ${rndRun.toFixed(2)}`);
  // Model: 3.85 % in bursts of 4 on average; 3000 packets hold ~29 bursts, so the bounds are wide.
  assert.ok(geLoss > 1.5 && geLoss < 7, `GE loss ${geLoss.toFixed(2)} %`);
  assert.ok(geRun >= 2.5, `GE mean burst ${geRun.toFixed(2)}, want ≥ 2.5`);
  assert.ok(rndRun < 1.4, `random mean burst ${rndRun.toFixed(2)}, want ~1.04`);
});

test('rate cap: throughput ≈ the cap, the queue stays within its bytes and drops the rest', { skip }, async () => {
  // 1200-byte datagrams at ~4.8 Mbit/s into a 2 Mbit/s cap with a 25 000-byte queue (100 ms).
  const run = await udpRun({ aToB: { rateKbps: 2000, queueBytes: 25_000 } }, { count: 1500, intervalMs: 2, size: 1200 });
  const spanS = (run.arrivals.at(-1)![2] - run.arrivals[0]![2]) / 1000;
  const bits = (run.arrivals.length - 1) * (1200 + 28) * 8;
  const mbps = bits / spanS / 1e6;
  const delays = run.arrivals.map((a) => a[1]);
  const [p50, p90] = [quantile(delays, 0.5), quantile(delays, 0.9)];
  console.log(`# 2 Mbit/s cap: ${mbps.toFixed(2)} Mbit/s through, one-way p50 ${p50.toFixed(0)} / p90 ${p90.toFixed(0)} ms, queue max ${run.up.maxQueueBytes} B, ${run.up.dropQueue} queue drops`);
  assert.ok(mbps > 1.85 && mbps < 2.1, `throughput ${mbps.toFixed(2)} Mbit/s, want ≈ 2`);
  assert.ok(run.up.maxQueueBytes <= 25_000, `queue reached ${run.up.maxQueueBytes} B`);
  assert.ok(run.up.dropQueue > 500, `${run.up.dropQueue} queue drops at 2.4 × the cap`);
  // A full queue is 100 ms of the cap: offered 2.4 × the cap, packets wait about that long, and no
  // longer (an unbounded queue would reach ~1.7 s by the end of these 3 s).
  assert.ok(p50 > 80, `one-way p50 ${p50.toFixed(0)} ms: the queue should be full`);
  assert.ok(p90 < 200, `one-way p90 ${p90.toFixed(0)} ms: the queue should bound the wait near 100 ms`);
});

test('jitter varies the delay but keeps packets in order unless reordering is asked', { skip }, async () => {
  const inOrder = await udpRun({ aToB: { delayMs: 30, jitterMs: 10 }, seed: 3 }, { count: 600, intervalMs: 2 });
  const seqs = inOrder.arrivals.map((a) => a[0]);
  assert.equal(seqs.length, 600);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'arrival order is send order');
  const delays = inOrder.arrivals.map((a) => a[1]);
  const spread = quantile(delays, 0.95) - quantile(delays, 0.05);
  assert.ok(spread > 12, `one-way p5-p95 spread ${spread.toFixed(1)} ms, want jitter`);

  const shuffled = await udpRun({ aToB: { delayMs: 30, jitterMs: 10, reorder: true }, seed: 3 }, { count: 600, intervalMs: 2 });
  const overtaken = shuffled.arrivals.filter((a, i) => i > 0 && a[0] < shuffled.arrivals[i - 1]![0]).length;
  console.log(`# jitter 10 ms: p5-p95 spread ${spread.toFixed(1)} ms in order; with reorder ${overtaken} of 600 arrived before an earlier one`);
  assert.ok(overtaken > 50, `${overtaken} reordered with reorder: true`);
});

/** Resolves once `n` more packets have entered the robot's uplink (the stream is under way). */
async function afterPackets(n: number): Promise<void> {
  const start = (await net.links.robot.stats()).aToB.inPackets;
  await waitFor(`${n} packets on the link`, () => net.links.robot.stats(), (s) => s.aToB.inPackets >= start + n, 5000);
}

/** The longest silence between two arrivals, ms. */
const longestGap = (arrivals: [number, number, number][]) => Math.max(...arrivals.slice(1).map((a, i) => a[2] - arrivals[i]![2]));

test('outages: a scheduled window and a "down now" from the control socket each silence the link for their length', { skip }, async () => {
  // Applied once the stream runs (the probes take a second or two to start on a busy machine).
  const scheduled = await udpRun({}, { count: 300, intervalMs: 10, idleMs: 1500 }, async () => { await afterPackets(20); await net.links.robot.apply({ outages: [{ atMs: 300, forMs: 1000 }] }); });
  const gap1 = longestGap(scheduled.arrivals);
  assert.ok(gap1 >= 900 && gap1 < 1250, `scheduled 1000 ms outage: longest gap ${gap1.toFixed(0)} ms`);
  assert.ok(scheduled.up.dropOutage >= 88 && scheduled.up.dropOutage <= 112, `${scheduled.up.dropOutage} dropped in the outage`);

  const onDemand = await udpRun({}, { count: 300, intervalMs: 10, idleMs: 1500 }, async () => {
    await afterPackets(20);
    await net.links.robot.down(600);
    assert.equal((await net.links.robot.stats()).down, true);
  });
  const gap2 = longestGap(onDemand.arrivals);
  console.log(`# outages: scheduled 1000 ms → gap ${gap1.toFixed(0)} ms; down 600 → gap ${gap2.toFixed(0)} ms`);
  assert.ok(gap2 >= 520 && gap2 < 850, `down 600 ms: longest gap ${gap2.toFixed(0)} ms`);
  assert.equal((await net.links.robot.stats()).down, false);
});
