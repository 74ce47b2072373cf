// The product over emulated real networks (field/profiles.ts), one profile after another, each on
// a fresh field network (field/netns.ts) and stack (field/stack.ts): the robot, the server and the
// phone in their own namespaces, the links impaired by field/wire.
//   node --import tsx bench/field.ts [--profiles wired,4g,…] [--seconds 20]
// Per profile, with the phone's Chromium in its namespace:
// - glass-to-glass over WebRTC: the app's WhepPlayer on the bench page (bench/page/measure.js),
//   the simulated camera's strip decoded on every presented frame;
// - freezes: gaps of more than 200 ms between presented frames, counted, and the longest;
// - drive: a driver in the page at the app's pace (one command every 40 ms, not waiting for acks)
//   through the relay's WebSocket: ack round trips p50/p99, and the share of the stick-held time
//   the simulated wheels turn (sampled every 50 ms);
// - deadman stops the bridge took while that driver was there (its own log line), outside an outage;
// - outage profiles: the phone's link goes down mid-run; the time from its return to the next
//   presented frame and the next drive ack (the page driver reconnects as the app does);
// - bytes each link carried each way (the wires' own counters).
// Prints `BENCH_RESULT {...}` (bench/run.ts --field reads it). Root only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createFieldNet, fieldNetMissing, type FieldNet } from '../field/netns.ts';
import { PROFILES, profileByName, wireProfiles, type FieldProfile } from '../field/profiles.ts';
import { startFieldStack, type FieldStack } from '../field/stack.ts';
import type { WireStats } from '../field/wire.ts';
import { benchBrowser, openBenchPage } from './lib/page.ts';
import { arg, dist, emitResult, machine, sleep, type Dist } from './lib/util.ts';

const SECONDS = Math.max(10, Number(arg('seconds', '20')));
const NAMES = arg('profiles', PROFILES.map((p) => p.name).join(',')).split(',');
/** When an outage profile takes the phone's link down, seconds into the run. */
const OUTAGE_AT_S = 6;
/** A gap between presented frames longer than this is a freeze (the issue's definition). */
const FREEZE_MS = 200;

/** Runs in the page: records presented frames of the bench player and drives through the relay. */
const PAGE_PROBE = `(() => {
  const probe = window.fieldProbe = { frames: [], acks: [], sentAt: new Map(), stops: [], reconnects: 0, closed: false };
  const el = document.querySelector('video');
  const onFrame = (now) => { probe.frames.push(now); el.requestVideoFrameCallback(onFrame); };
  el.requestVideoFrameCallback(onFrame);
  probe.drive = (url, intervalMs) => {
    let seq = 0; let ws = null; let timer = 0;
    const connect = () => {
      if (probe.closed) return;
      ws = new WebSocket(url);
      ws.onopen = () => ws.send(JSON.stringify({ v: 1, type: 'hello', name: 'bench', want: 'driver' }));
      ws.onmessage = (e) => {
        if (typeof e.data !== 'string') return;
        const m = JSON.parse(e.data);
        if (m.type === 'ack' && probe.sentAt.has(m.seq)) { probe.acks.push([performance.now(), performance.now() - probe.sentAt.get(m.seq)]); probe.sentAt.delete(m.seq); }
        if (m.type === 'stopped') probe.stops.push([performance.now(), m.reason]);
      };
      // As the app does: a lost socket is reopened after a short pause.
      ws.onclose = () => { if (!probe.closed) { probe.reconnects++; setTimeout(connect, 500); } };
    };
    connect();
    timer = setInterval(() => {
      if (ws?.readyState !== 1) return;
      seq++; probe.sentAt.set(seq, performance.now());
      ws.send(JSON.stringify({ v: 1, type: 'drive', seq, left: 0.5, right: 0.5, ttl: 500, t: Date.now() }));
    }, intervalMs);
    probe.stopDriving = () => { probe.closed = true; clearInterval(timer); ws?.send(JSON.stringify({ v: 1, type: 'stop' })); ws?.close(); };
  };
})()`;

interface PageProbe { frames: number[]; acks: [number, number][]; stops: [number, string][]; reconnects: number; now: number }

interface ProfileResult {
  name: string;
  about: string;
  /** The profile's one-way delays on the video's way: the robot's uplink and the phone's downlink. */
  videoOneWayMs: number;
  glass: Dist | null;
  frames: number;
  freezes: { count: number; longestMs: number };
  command: Dist | null;
  commandsUnanswered: number;
  driveShare: number | null;
  falseDeadmanStops: number;
  outage: { link: string; forMs: number; videoBackMs: number | null; controlBackMs: number | null } | null;
  bytes: Record<'robotUp' | 'robotDown' | 'phoneUp' | 'phoneDown', number>;
  lost: Record<'robotUp' | 'robotDown' | 'phoneUp' | 'phoneDown', number>;
}

const bytesOf = (a: WireStats, b: WireStats, dir: 'aToB' | 'bToA') => b[dir].outBytes - a[dir].outBytes;
const lostOf = (a: WireStats, b: WireStats, dir: 'aToB' | 'bToA') => (b[dir].dropLoss + b[dir].dropQueue) - (a[dir].dropLoss + a[dir].dropQueue);

async function session(stack: FieldStack): Promise<{ token: string; whepUrl: string }> {
  const { invite } = await stack.invite('driver');
  const res = await fetch(`${stack.relayUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invite }) });
  const body = (await res.json()) as { token: string; whepUrl: string };
  if (!res.ok) throw new Error(`session: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function runProfile(p: FieldProfile, browserFor: (net: FieldNet, stack: FieldStack) => Promise<Browser>): Promise<ProfileResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-bench-field-'));
  const net = await createFieldNet(wireProfiles(p, { withOutage: false }));
  let stack: FieldStack | null = null;
  let browser: Browser | null = null;
  const deadmanAt: number[] = [];
  try {
    stack = await startFieldStack(net, { dataDir, log: (name, line) => { if (name === 'bridge' && /deadman/i.test(line)) deadmanAt.push(Date.now()); } });
    browser = await browserFor(net, stack);
    const page: Page = await openBenchPage(browser, new URL(stack.appUrl).origin);
    const sess = await session(stack);
    await page.evaluate(([u, t]) => (globalThis as unknown as { bench: { start(k: string, u: string, t: string): Promise<void> } }).bench.start('ours-webrtc', u!, t!), [sess.whepUrl, sess.token] as const);
    await page.waitForFunction('document.querySelector("video")?.videoWidth > 0', undefined, { timeout: 30_000 });
    await page.evaluate(PAGE_PROBE);
    const before = { robot: await net.links.robot.stats(), phone: await net.links.phone.stats() };
    const driveUrl = `${stack.relayUrlForPhone.replace('http', 'ws')}/ws/client/bench-field?token=${encodeURIComponent(sess.token)}`;
    await page.evaluate(([u]) => (globalThis as unknown as { fieldProbe: { drive(u: string, i: number): void } }).fieldProbe.drive(u!, 40), [driveUrl] as const);
    const t0 = Date.now();
    const outage = p.outage ?? null;
    // An outage run lasts until 10 s after the link is back, to see video and control return.
    const seconds = outage ? Math.max(SECONDS, OUTAGE_AT_S + outage.forMs / 1000 + 10) : SECONDS;
    let downAt = 0;
    // Glass-to-glass during the run, in the page, while Node samples the wheels and takes the link down.
    const measuring = page.evaluate((o) => (globalThis as unknown as { bench: { measure(o: object): Promise<{ samples: { lat: number }[] }> } }).bench.measure(o),
      { frames: 100_000, timeoutMs: seconds * 1000, warmupMs: 1000 });
    const wheels: boolean[] = [];
    while (Date.now() - t0 < seconds * 1000) {
      if (outage && !downAt && Date.now() - t0 >= OUTAGE_AT_S * 1000) {
        downAt = Date.now();
        await net.links[outage.link].down(outage.forMs);
      }
      const inOutage = downAt && Date.now() < downAt + outage!.forMs + 3000;
      const s = (await (await fetch(`${stack.simControlUrl}/state`)).json()) as { left: number; right: number };
      if (!inOutage && Date.now() - t0 > 2000) wheels.push(s.left > 0 && s.right > 0);
      await sleep(50);
    }
    const glassSamples = (await measuring).samples.map((s) => s.lat);
    const probe = (await page.evaluate('(() => { const p = window.fieldProbe; p.stopDriving(); return { frames: p.frames, acks: p.acks, stops: p.stops, reconnects: p.reconnects, now: performance.now() }; })()')) as PageProbe;
    const after = { robot: await net.links.robot.stats(), phone: await net.links.phone.stats() };
    const pageNowToWall = Date.now() - probe.now;
    const upAtPage = downAt ? downAt + outage!.forMs - pageNowToWall : 0;
    const gaps = probe.frames.slice(1).map((t, i) => t - probe.frames[i]!);
    const outsideOutage = (wall: number) => !downAt || wall < downAt || wall > downAt + outage!.forMs + 3000;
    return {
      name: p.name, about: p.about, videoOneWayMs: (p.robot.up.delayMs ?? 0) + (p.phone.down.delayMs ?? 0),
      glass: dist(glassSamples),
      frames: probe.frames.length,
      freezes: { count: gaps.filter((g) => g > FREEZE_MS).length, longestMs: Math.round(Math.max(0, ...gaps)) },
      command: dist(probe.acks.map((a) => a[1])),
      commandsUnanswered: Math.max(0, Math.round((seconds * 1000) / 40) - probe.acks.length),
      driveShare: wheels.length ? Math.round((wheels.filter(Boolean).length / wheels.length) * 1000) / 10 : null,
      falseDeadmanStops: deadmanAt.filter((t) => t >= t0 && outsideOutage(t)).length,
      outage: outage && {
        link: outage.link, forMs: outage.forMs,
        videoBackMs: firstAfter(probe.frames, upAtPage),
        controlBackMs: firstAfter(probe.acks.map((a) => a[0]), upAtPage),
      },
      bytes: { robotUp: bytesOf(before.robot, after.robot, 'aToB'), robotDown: bytesOf(before.robot, after.robot, 'bToA'), phoneUp: bytesOf(before.phone, after.phone, 'aToB'), phoneDown: bytesOf(before.phone, after.phone, 'bToA') },
      lost: { robotUp: lostOf(before.robot, after.robot, 'aToB'), robotDown: lostOf(before.robot, after.robot, 'bToA'), phoneUp: lostOf(before.phone, after.phone, 'aToB'), phoneDown: lostOf(before.phone, after.phone, 'bToA') },
    };
  } finally {
    await browser?.close().catch(() => {});
    await stack?.stop();
    await net.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** ms from `t` to the first time in `times` after it (null: never within the run). */
function firstAfter(times: number[], t: number): number | null {
  const hit = times.find((x) => x > t);
  return hit === undefined ? null : Math.round(hit - t);
}

const missing = fieldNetMissing();
if (missing) {
  console.error(`bench field: ${missing}`);
  process.exit(1);
}
const m = machine();
const results: ProfileResult[] = [];
for (const name of NAMES) {
  const p = profileByName(name);
  const t = Date.now();
  const r = await runProfile(p, (net, stack) => benchBrowser({ netns: net.ns.phone, extraArgs: stack.phoneChromiumArgs }));
  console.error(`${p.name}: glass p50 ${r.glass?.p50} p95 ${r.glass?.p95} ms; freezes ${r.freezes.count} (longest ${r.freezes.longestMs} ms); command p50 ${r.command?.p50} p99 ${r.command?.p99} ms; drive ${r.driveShare} %; false deadman stops ${r.falseDeadmanStops}${r.outage ? `; after the outage video ${r.outage.videoBackMs} ms, control ${r.outage.controlBackMs} ms` : ''} (${Math.round((Date.now() - t) / 1000)} s)`);
  results.push(r);
}
emitResult({ bench: 'field', seconds: SECONDS, outageAtS: OUTAGE_AT_S, machine: m, loadAfter: machine().load, profiles: results });
