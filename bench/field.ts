// The product over emulated real networks (field/profiles.ts), one profile after another, each on
// a fresh field network (field/netns.ts) and stack (field/stack.ts): the robot, the server and the
// phone in their own namespaces, the links impaired by field/wire. The server forwards between the
// links (a VPN whose hub is the server), so the phone also reaches the robot's bridge: local mode
// from afar, through both wires.
//   node --import tsx bench/field.ts [--profiles wired,4g,…] [--seconds 20]
// Per profile, with the phone's Chromium in its namespace:
// - glass-to-glass over WebRTC: the app's WhepPlayer on the bench page (bench/page/measure.js),
//   the simulated camera's strip decoded on every presented frame;
// - freezes: gaps of more than 200 ms between presented frames, counted, and the longest;
// - audio both ways, as bench/audio-latency.ts measures it: the simulated mic's marker (a burst at
//   every wall-clock second) heard on the WhepPlayer's audio track; the page's marker talked over
//   WHIP and read by the robot's own talk arguments inside the robot's namespace (through its link);
// - drive: the app's own link and drive code in the page (bench/page/field-driver.js: RelayLink,
//   CommandQueue, DriveController at the app's 40 ms pace) with a hand holding the stick: ack round
//   trips p50/p99, and the share of the stick-held time the simulated wheels turn (every 50 ms);
// - deadman stops the bridge took while that driver was there (its own log line), outside an outage;
// - outage profiles: the phone's link goes down mid-run; the robot's stop after the driver's last
//   message, and the time from the link's return to the next presented frame and the next drive ack;
// - departures (the other profiles, after the measured window): the driver's phone drops off its
//   network for 1 s while driving; the time from the driver's last message sent before that (drive
//   or heartbeat: what the deadman counts from) to the simulator's stop;
// - MJPEG glass-to-glass, last: the robot's server mode stopped (local mode), the app's MjpegSource
//   reading the bridge's /video from the phone through the server;
// - bytes each link carried each way in the measured window (the wires' own counters).
// Prints `BENCH_RESULT {...}` (bench/run.ts --field reads it). Root only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_DEADMAN_MS } from '../protocol/limits.ts';
import type { FieldFigures } from '../field/goals.ts';
import { createFieldNet, fieldNetMissing, type FieldNet } from '../field/netns.ts';
import { PROFILES, profileByName, wireProfiles, type FieldProfile } from '../field/profiles.ts';
import { startFieldStack, type FieldStack } from '../field/stack.ts';
import type { WireStats } from '../field/wire.ts';
import { benchBrowser, openBenchPage } from './lib/page.ts';
import { markerLatencies, talkReader, type Probe } from './lib/rtsp-probe.ts';
import { arg, dist, emitResult, machine, sleep, STOP_FRAME_MS, waitFor, type Dist } from './lib/util.ts';

const SECONDS = Math.max(10, Number(arg('seconds', '20')));
const NAMES = arg('profiles', PROFILES.map((p) => p.name).join(',')).split(',');
/** When an outage profile takes the phone's link down, seconds into the run. */
const OUTAGE_AT_S = 6;
/** A gap between presented frames longer than this is a freeze (the issue's definition). */
const FREEZE_MS = 200;
/** After an outage, stops and wheels are the rule working for this long, not the product failing. */
const AFTER_OUTAGE_MS = 3000;
/** Chromium's audio buffer starts high after joining and drains (bench/audio-latency.ts): markers before this are left out. */
const AUDIO_SETTLE_MS = 8000;
const DEPARTURES = 5;
const DEPARTURE_MS = 1000;
const MJPEG_SECONDS = 8;

type Bench = { bench: Record<string, (...a: unknown[]) => Promise<unknown>> & { fieldDriver: { start(o: object): unknown } } };
type Win = typeof globalThis & Bench & { fieldRun: { snapshot(): DriverRecord; isDriver(): boolean; stop(): void } };
/** What the page's driver recorded (bench/page/field-driver.js); times are Date.now(). */
interface DriverRecord {
  frames: number[];
  /** [t, seq, left track PWM] of each drive command sent. */
  sends: [number, number, number][];
  /** When each drive, motor or heartbeat left the page. */
  out: number[];
  /** [arrival, round trip, seq, result]. */
  acks: [number, number, number, string][];
  stops: [number, string][];
  statuses: [number, string][];
  driverAt: number[];
  takes: number;
}
interface MotorFrame { at: number; left: number; right: number }
interface SimState { left: number; right: number; lastStopAt: number | null; lastMotorFrames: MotorFrame[] }
/** The phone's link taken down: the outage, or a departure of the driver. */
interface Down { at: number; forMs: number }

interface ProfileResult extends FieldFigures {
  about: string;
  glassStages: ReturnType<typeof stagesOf>;
  /** The robot's uplink during the MJPEG measurement. */
  mjpegRobotUpKbps: number;
  commandsUnanswered: number;
  outage: (FieldFigures['outage'] & { link: string; forMs: number; linkBackMs: number | null; deadman: boolean; deadmanSilentMs: number | null }) | null;
  /** Each departure's stop, and whether the bridge's deadman took it. */
  departures: { stopMs: number | null; deadman: boolean; deadmanSilentMs: number | null }[];
  takes: number;
  bytes: Record<'robotUp' | 'robotDown' | 'phoneUp' | 'phoneDown', number>;
  lost: Record<'robotUp' | 'robotDown' | 'phoneUp' | 'phoneDown', number>;
}

const bytesOf = (a: WireStats, b: WireStats, dir: 'aToB' | 'bToA') => b[dir].outBytes - a[dir].outBytes;
const lostOf = (a: WireStats, b: WireStats, dir: 'aToB' | 'bToA') => (b[dir].dropLoss + b[dir].dropQueue) - (a[dir].dropLoss + a[dir].dropQueue);

async function session(stack: FieldStack): Promise<{ token: string; whepUrl: string; whipUrl: string }> {
  const { invite } = await stack.invite('driver');
  const res = await fetch(`${stack.relayUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invite }) });
  const body = (await res.json()) as { token: string; whepUrl: string; whipUrl: string };
  if (!res.ok) throw new Error(`session: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * Samples the simulator every 50 ms until stopped: whether the wheels turn, and every stop it
 * records with the motor frames it had received by then (which say the last command obeyed).
 */
function simSampler(simControlUrl: string) {
  const wheels: [number, boolean][] = [];
  const stops: { at: number; frames: MotorFrame[] }[] = [];
  let running = true;
  let lastStop: number | null = null;
  const done = (async () => {
    while (running) {
      const s = (await (await fetch(`${simControlUrl}/state`)).json()) as SimState;
      wheels.push([Date.now(), s.left > 0 && s.right > 0]);
      if (s.lastStopAt !== null && s.lastStopAt !== lastStop) {
        lastStop = s.lastStopAt;
        stops.push({ at: s.lastStopAt, frames: s.lastMotorFrames });
      }
      await sleep(50);
    }
  })();
  return { wheels, stops, stop: async () => { running = false; await done; } };
}

/**
 * ms from the driver's last sign of life sent before the link went down to the simulator's first
 * stop after it, and whether the bridge's deadman took that stop.
 */
function stopAfterDown(down: Down, stops: { at: number; frames: MotorFrame[] }[], wheels: [number, boolean][], out: number[], deadman: { at: number[]; silentMs: number[] }): { stopMs: number | null; deadman: boolean; deadmanSilentMs: number | null } {
  const stop = stops.find((s) => s.at > down.at && s.at < down.at + down.forMs + AFTER_OUTAGE_MS);
  if (!stop) return { stopMs: null, deadman: false, deadmanSilentMs: null };
  // A robot already stopped when its driver left (a stop just before) has no departure stop to
  // time: the first stop found after would be one from driving again later.
  const lastSample = wheels.filter(([t]) => t <= down.at).pop();
  if (!lastSample?.[1] || stops.some((s) => s.at > lastSample[0] && s.at <= down.at)) return { stopMs: null, deadman: false, deadmanSilentMs: null };
  // The bridge's deadman line is stamped a few ms before the stop reaches the simulator (more on
  // a loaded machine); without one, something else stopped it (an app's stop sent just before the link went).
  const i = deadman.at.findIndex((t) => Math.abs(t - stop.at) < 300);
  const took = { deadman: i >= 0, deadmanSilentMs: i >= 0 ? deadman.silentMs[i] ?? null : null };
  // The driver's last sign of life (command or heartbeat) that left before its link went: what
  // the deadman rule counts from. One sent a moment before and lost with the link only makes the stop earlier.
  const last = out.filter((t) => t <= down.at).pop();
  return { stopMs: last === undefined ? null : Math.round(stop.at - last), ...took };
}

/** A presented frame: glass-to-glass, and (requestVideoFrameCallback) capture → received and → expected display. */
interface GlassSample { lat: number; recv?: number; disp?: number }

/** Where the WebRTC time goes, p50 per frame: capture → received by the browser, received → displayed (jitter buffer, decode). */
function stagesOf(samples: GlassSample[]): { captureToReceiveP50: number | null; receiveToDisplayP50: number | null } {
  const both = samples.filter((s) => s.recv !== undefined && s.disp !== undefined);
  return { captureToReceiveP50: dist(both.map((s) => s.recv!))?.p50 ?? null, receiveToDisplayP50: dist(both.map((s) => s.disp! - s.recv!))?.p50 ?? null };
}

/** ms from `t` to the first time in `times` after it (null: never within the run). */
function firstAfter(times: number[], t: number): number | null {
  const hit = times.find((x) => x > t);
  return hit === undefined ? null : Math.round(hit - t);
}

async function talkPathReady(stack: FieldStack): Promise<void> {
  await waitFor('the talk path ready at MediaMTX', async () => {
    const r = await fetch(`${stack.mediamtxApiUrl}/v3/paths/get/robots/${stack.robotId}/talk`, { headers: stack.mediamtxApiHeaders });
    return r.ok && ((await r.json()) as { ready?: boolean }).ready === true;
  }, 20_000, 200);
}

/** Local mode from afar: server mode off, the app's MjpegSource on the bridge's /video, from the phone. */
async function measureMjpeg(browser: Browser, stack: FieldStack, net: FieldNet): Promise<{ latency: Dist | null; robotUpKbps: number }> {
  const r = await fetch(`${stack.bridgeUrl}/server/stop`, { method: 'POST', headers: { authorization: `Bearer ${stack.token}` } });
  if (!r.ok) throw new Error(`/server/stop: ${r.status} ${await r.text()}`);
  const page = await openBenchPage(browser, stack.bridgeUrlForPhone!);
  try {
    await page.evaluate(([u]) => (globalThis as unknown as Bench).bench.start!('ours-mjpeg', u), [`/video?token=${encodeURIComponent(stack.token)}`] as const);
    const before = { at: Date.now(), stats: await net.links.robot.stats() };
    const out = (await page.evaluate((o) => (globalThis as unknown as Bench).bench.measure!(o), { frames: 100_000, timeoutMs: (MJPEG_SECONDS + 5) * 1000, warmupMs: 1000 })) as { samples: { lat: number }[] };
    // What the robot's uplink carried meanwhile (MJPEG at 720p is ~22 Mbit/s on loopback: PERFORMANCE bandwidth).
    const sent = bytesOf(before.stats, await net.links.robot.stats(), 'aToB');
    return { latency: dist(out.samples.map((s) => s.lat)), robotUpKbps: Math.round((sent * 8) / (Date.now() - before.at)) };
  } finally {
    await page.close();
  }
}

async function runProfile(p: FieldProfile): Promise<ProfileResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'havatar-bench-field-'));
  const net = await createFieldNet({ ...wireProfiles(p, { withOutage: false }), forward: true });
  let stack: FieldStack | null = null;
  let browser: Browser | null = null;
  let talk: Probe | null = null;
  const deadmanAt: number[] = [];
  /** The bridge's own count of each deadman's silence (its timer runs late on a busy event loop). */
  const deadmanSilentMs: number[] = [];
  try {
    stack = await startFieldStack(net, {
      dataDir, bridgeOnLink: true, bridgeEnv: { HAVATAR_SIM_MIC_MARKER: '1' },
      log: (name, line) => {
        if (name !== 'bridge' || !/deadman/i.test(line)) return;
        // The bridge's JSON log line carries its own time (t): no pipe delay in it.
        let entry: { t?: string; silentMs?: number } = {};
        try { entry = JSON.parse(line) as typeof entry; } catch { /* not JSON: timed on arrival */ }
        deadmanAt.push(entry.t ? Date.parse(entry.t) : Date.now());
        deadmanSilentMs.push(Number(entry.silentMs));
      },
    });
    const st = stack;
    browser = await benchBrowser({ netns: net.ns.phone, extraArgs: st.phoneChromiumArgs });
    const page: Page = await openBenchPage(browser, new URL(st.appUrl).origin);
    const sess = await session(st);
    await page.evaluate(([u, t]) => (globalThis as unknown as Bench).bench.start!('ours-webrtc', u, t), [sess.whepUrl, sess.token] as const);
    await page.waitForFunction('document.querySelector("video")?.videoWidth > 0', undefined, { timeout: 30_000 });
    const joinedAt = Date.now();
    await page.evaluate(() => (globalThis as unknown as Bench).bench.listenAudio!());
    await page.evaluate(([u, t]) => { const w = globalThis as unknown as Win; w.fieldRun = w.bench.fieldDriver.start({ serverUrl: u, token: t }) as Win['fieldRun']; }, [st.relayUrlForPhone, sess.token] as const);
    await waitFor('the page driver holding the lease', () => page.evaluate(() => (globalThis as unknown as Win).fieldRun.isDriver()), 30_000, 200);
    // Only the lease holder may talk; the robot reads the talk path through its own link.
    await page.evaluate(([u, t]) => (globalThis as unknown as Bench).bench.talk!(u, t), [sess.whipUrl, sess.token] as const);
    await talkPathReady(st);
    talk = talkReader(st.talkUrlForRobot, { wrap: (c, a) => net.wrap('robot', c, a) });

    const before = { robot: await net.links.robot.stats(), phone: await net.links.phone.stats() };
    const sim = simSampler(st.simControlUrl);
    const t0 = Date.now();
    const outage = p.outage ?? null;
    // An outage run lasts until 10 s after the link is back, to see video and control return.
    const seconds = outage ? Math.max(SECONDS, OUTAGE_AT_S + outage.forMs / 1000 + 10) : SECONDS;
    const downs: Down[] = [];
    const measuring = page.evaluate((o) => (globalThis as unknown as Bench).bench.measure!(o), { frames: 100_000, timeoutMs: seconds * 1000, warmupMs: 1000 }) as Promise<{ samples: GlassSample[] }>;
    if (outage) {
      await sleep(OUTAGE_AT_S * 1000);
      downs.push({ at: Date.now(), forMs: outage.forMs });
      await net.links[outage.link].down(outage.forMs);
      // The WhepPlayer reconnects with a new connection: its audio is listened to afresh.
      await sleep(outage.forMs);
      await waitFor('the audio of the player back after the outage', () => page.evaluate(() => (globalThis as unknown as Bench).bench.listenAudio!()).catch(() => null), 10_000, 500).catch(() => null);
    }
    const glassSamples = (await measuring).samples;
    await sleep(Math.max(0, t0 + seconds * 1000 - Date.now()));
    const t1 = Date.now();
    const after = { robot: await net.links.robot.stats(), phone: await net.links.phone.stats() };
    const audioIn = markerLatencies(((await page.evaluate(() => (globalThis as unknown as Bench).bench.takeOnsets!())) as number[]).filter((t) => t > joinedAt + AUDIO_SETTLE_MS));
    const audioOut = markerLatencies(talk.stop());
    talk = null;
    await page.evaluate(() => (globalThis as unknown as Bench).bench.stopTalk!());

    // Departures: the driver's phone drops off its network while driving, 1 s each.
    const departureDowns: Down[] = [];
    if (!outage) {
      for (let i = 0; i < DEPARTURES; i++) {
        const ackedSince = Date.now();
        await waitFor('driving again before a departure', async () => {
          const r = await page.evaluate(() => (globalThis as unknown as Win).fieldRun.snapshot());
          // Applied acks alone may be the zero commands of a hand that let go after a halt: the
          // wheels must be seen turning too, or the robot was already stopped when its driver left.
          const turning = sim.wheels.slice(-3);
          return r.acks.filter((a) => a[0] > ackedSince && a[3] === 'applied').length >= 5 && turning.length === 3 && turning.every(([, on]) => on);
        }, 20_000, 100);
        departureDowns.push({ at: Date.now(), forMs: DEPARTURE_MS });
        await net.links.phone.down(DEPARTURE_MS);
        await sleep(DEPARTURE_MS + 500);
      }
      await sleep(1000);
    }
    await sim.stop();
    const rec = await page.evaluate(() => { const r = (globalThis as unknown as Win).fieldRun; const s = r.snapshot(); r.stop(); return s; });
    const mjpeg = await measureMjpeg(browser, st, net);

    const inWindow = (t: number) => t >= t0 && t <= t1;
    const excused = (t: number) => downs.some((d) => t >= d.at && t <= d.at + d.forMs + AFTER_OUTAGE_MS);
    const frames = rec.frames.filter(inWindow);
    const gaps = frames.slice(1).map((t, i) => t - frames[i]!);
    const acks = rec.acks.filter((a) => inWindow(a[0]));
    const wheels = sim.wheels.filter(([t]) => inWindow(t) && t - t0 > 2000 && !excused(t));
    const down = downs[0];
    const deadman = { at: deadmanAt, silentMs: deadmanSilentMs };
    const departures = departureDowns.map((d) => stopAfterDown(d, sim.stops, sim.wheels, rec.out, deadman));
    const upAt = down ? down.at + down.forMs : 0;
    return {
      name: p.name, about: p.about, videoOneWayMs: (p.robot.up.delayMs ?? 0) + (p.phone.down.delayMs ?? 0),
      glass: dist(glassSamples.map((g) => g.lat)),
      glassStages: stagesOf(glassSamples),
      mjpeg: mjpeg.latency,
      mjpegRobotUpKbps: mjpeg.robotUpKbps,
      audioIn: dist(audioIn.ms),
      audioOut: dist(audioOut.ms),
      frames: frames.length,
      freezes: { count: gaps.filter((g) => g > FREEZE_MS).length, longestMs: Math.round(Math.max(0, ...gaps)) },
      command: dist(acks.map((a) => a[1])),
      commandsUnanswered: Math.max(0, rec.sends.filter(([t]) => inWindow(t)).length - acks.length),
      driveShare: wheels.length ? Math.round((wheels.filter(([, on]) => on).length / wheels.length) * 1000) / 10 : null,
      falseDeadmanStops: deadmanAt.filter((t) => inWindow(t) && !excused(t)).length,
      departureStop: dist(departures.map((d) => d.stopMs).filter((x): x is number => x !== null)),
      departures,
      takes: rec.takes,
      outage: outage && down ? {
        link: outage.link, forMs: outage.forMs,
        ...stopAfterDown(down, sim.stops, sim.wheels, rec.out, deadman),
        videoBackMs: firstAfter(rec.frames, upAt),
        controlBackMs: firstAfter(rec.acks.filter((a) => a[3] === 'applied').map((a) => a[0]), upAt),
        linkBackMs: firstAfter(rec.statuses.filter((s) => s[1] === 'live').map((s) => s[0]), upAt),
      } : null,
      bytes: { robotUp: bytesOf(before.robot, after.robot, 'aToB'), robotDown: bytesOf(before.robot, after.robot, 'bToA'), phoneUp: bytesOf(before.phone, after.phone, 'aToB'), phoneDown: bytesOf(before.phone, after.phone, 'bToA') },
      lost: { robotUp: lostOf(before.robot, after.robot, 'aToB'), robotDown: lostOf(before.robot, after.robot, 'bToA'), phoneUp: lostOf(before.phone, after.phone, 'aToB'), phoneDown: lostOf(before.phone, after.phone, 'bToA') },
    };
  } finally {
    talk?.stop();
    await browser?.close().catch(() => {});
    await stack?.stop();
    await net.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const missing = fieldNetMissing();
if (missing) {
  console.error(`bench field: ${missing}`);
  process.exit(1);
}
const m = machine();
const results: ProfileResult[] = [];
const fmt = (d: Dist | null) => (d ? `${d.p50} / ${d.p95}` : '—');
for (const name of NAMES) {
  const p = profileByName(name);
  const t = Date.now();
  const r = await runProfile(p);
  console.error(`${p.name}: glass ${fmt(r.glass)} ms; MJPEG ${fmt(r.mjpeg)} ms; audio in ${fmt(r.audioIn)}, out ${fmt(r.audioOut)} ms; freezes ${r.freezes.count} (longest ${r.freezes.longestMs} ms); `
    + `command p50 ${r.command?.p50} p99 ${r.command?.p99} ms; drive ${r.driveShare} %; false deadman stops ${r.falseDeadmanStops}; departures ${r.departures.map((d) => `${d.stopMs ?? '?'}${d.deadman ? ` (deadman silent ${d.deadmanSilentMs})` : ' (not the deadman)'}`).join(', ')} ms`
    + `${r.outage ? `; outage stop ${r.outage.stopMs} ms (deadman silent ${r.outage.deadmanSilentMs}), back: link ${r.outage.linkBackMs} video ${r.outage.videoBackMs} control ${r.outage.controlBackMs} ms` : ''} (${Math.round((Date.now() - t) / 1000)} s)`);
  results.push(r);
}
emitResult({ bench: 'field', seconds: SECONDS, outageAtS: OUTAGE_AT_S, departureMs: DEPARTURE_MS, departureCount: DEPARTURES, mjpegSeconds: MJPEG_SECONDS, audioSettleMs: AUDIO_SETTLE_MS,
  stopRule: { deadmanMs: DEFAULT_DEADMAN_MS, stopFrameMs: STOP_FRAME_MS }, machine: m, loadAfter: machine().load, profiles: results });
