// Server mode over an emulated 4G network (field/profiles.ts '4g': 25 ms each way, 8 ms jitter,
// random and bursty loss, 9 Mbit/s up): the robot (bridge, simulator, FFmpeg) in one network
// namespace, MediaMTX and the relay in another, Chromium in a third, joined by field/wire. The app
// plays WebRTC and drives through the impaired links, and what a real network would break is
// checked: the picture keeps moving, the drive reaches the wheels the whole time the stick is held,
// and no deadman stop is taken for a driver who never left. Root only (namespaces, TUN devices).
import { test } from 'node:test';
import { fieldFixture, fieldSkip, wheels } from './field-fixture.ts';
import assert from 'node:assert/strict';
import { pushStick } from './operator.ts';
import { StackLog } from './stack-log.ts';
import { confirmRelay, FIND_IN_SHADOW, onServerVideo } from './app-page.ts';
import { sleep, waitFor } from '../common/wait.ts';

/** The profile (field/profiles.ts); another one by HAVATAR_FIELD_PROFILE, to compare (e.g. 'wired'). */
const PROFILE = process.env.HAVATAR_FIELD_PROFILE ?? '4g';
const skip = fieldSkip();

/** How long the stick is held: long enough for some bursts of loss to hit both links. */
const DRIVE_MS = 15_000;
/**
 * The longest gap between two frames the page presents. A stream the network stalls (the issue's
 * 1.5 Mbit/s publisher on a thinner uplink, a TCP path waiting out retransmissions) freezes for
 * seconds; a starved Chromium (nice 10 on 2 shared cores) for less: measured 2026-12-06 with the
 * machine at load 25-30, longest gaps of 117 ms (4g, no extra load), 450 ms (wired), and
 * 650-770 ms (4g and wired with a core kept busy). The bound sits above those; the goal for
 * 4G (no freeze over 500 ms) is the bench's to measure on a quiet machine.
 */
const FREEZE_BOUND_MS = 1500;
/**
 * Share of the stick-held time the simulated wheels must turn as commanded (the goal for
 * 4G is 98 %, for the bench). Measured 100 % on 4g and wired at load 25; lower bound with room for a
 * starved page, far above a drive that does not get through (0 %).
 */
const DRIVE_SHARE_MIN = 0.8;

const stackLog = new StackLog();
const deadmanStops: string[] = [];
/** The drive datagram channels that opened (the relay's log): the robot's and the app's. */
let channelsOpen = 0;

const fx = fieldFixture({
  prefix: 'havatar-e2e-field-',
  profile: PROFILE,
  log: (name, line) => {
    stackLog.log(name, line);
    // The bridge's deadman log line (bridge/safety/motion.ts): the robot stopped a silent driver.
    if (name === 'bridge' && /deadman/i.test(line)) deadmanStops.push(line);
    if (name === 'relay' && line.includes('"drive channel open"')) channelsOpen++;
  },
});

const simState = () => wheels(fx.stack);

/** Starts recording when each video frame is presented (requestVideoFrameCallback), in the page. */
const RECORD_FRAMES = `(() => {
  ${FIND_IN_SHADOW}
  const v = find(document, 'video');
  window.__frames = [];
  const cb = (now) => { window.__frames.push(now); v.requestVideoFrameCallback(cb); };
  v.requestVideoFrameCallback(cb);
})()`;
const FRAME_TIMES = '(() => window.__frames.splice(0))()';

/** What the drive recorded, checked by the tests below. */
interface Drive { frames: number[]; samples: boolean[]; robotUp: { bytes: number; lost: number }; phoneDown: { bytes: number; lost: number } }
let drive: Drive | null = null;

test(`${PROFILE}: the app plays WebRTC, takes control and drives for ${DRIVE_MS / 1000} s over the impaired links`, { skip }, stackLog.dumpOnFailure(async () => {
  const context = await fx.browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const { invite } = await fx.stack.invite('driver');
  await page.goto(`${fx.stack.appUrl}?invite=${invite}&server=${encodeURIComponent(fx.stack.relayUrlForPhone)}`);
  await confirmRelay(page, fx.stack.relayUrlForPhone);
  await onServerVideo(page, 'webrtc', 30_000);
  // Enabled once the app's relay link is up: over these links on a loaded machine that took over
  // 10 s in 1 of 5 busy runs.
  await page.getByRole('button', { name: 'Take control' }).click({ timeout: 30_000 });
  await page.getByText('you drive').waitFor({ timeout: 15_000 });

  await page.evaluate(RECORD_FRAMES);
  const before = { robot: await fx.net.links.robot.stats(), phone: await fx.net.links.phone.stats() };
  deadmanStops.length = 0;
  await pushStick(page);
  await waitFor('the wheels turning through the relay', simState, (s) => s.left > 0 && s.right > 0, 5000);
  // The stimulus: the stick held for DRIVE_MS, the wheels sampled all along.
  const samples: boolean[] = [];
  const heldUntil = Date.now() + DRIVE_MS;
  while (Date.now() < heldUntil) {
    const s = await simState();
    samples.push(s.left > 0 && s.right > 0);
    await sleep(50); // the sampling pace while the stimulus (the held stick) lasts
  }
  const frames = (await page.evaluate(FRAME_TIMES)) as number[];
  heldStops = [...deadmanStops];
  await page.mouse.up();
  await waitFor('the robot stopped on release', simState, (s) => s.left === 0 && s.right === 0, 3000);
  const after = { robot: await fx.net.links.robot.stats(), phone: await fx.net.links.phone.stats() };
  drive = {
    frames, samples,
    robotUp: { bytes: after.robot.aToB.outBytes - before.robot.aToB.outBytes, lost: after.robot.aToB.dropLoss - before.robot.aToB.dropLoss },
    phoneDown: { bytes: after.phone.bToA.outBytes - before.phone.bToA.outBytes, lost: after.phone.bToA.dropLoss - before.phone.bToA.dropLoss },
  };
  const gaps = frames.slice(1).map((t, i) => t - frames[i]!);
  console.log(`# ${PROFILE}: ${frames.length} frames in ${DRIVE_MS / 1000} s, longest gap ${Math.max(...gaps).toFixed(0)} ms; ` +
    `wheels turning ${(samples.filter(Boolean).length / samples.length * 100).toFixed(1)} % of ${samples.length} samples; deadman stops ${heldStops.length}; drive channels open ${channelsOpen}; ` +
    `robot uplink ${(drive.robotUp.bytes / 1e6).toFixed(1)} MB, ${drive.robotUp.lost} packets lost; phone downlink ${(drive.phoneDown.bytes / 1e6).toFixed(1)} MB, ${drive.phoneDown.lost} lost`);
  assert.ok(drive.robotUp.bytes > 1e6 && drive.phoneDown.bytes > 1e6, 'the video crossed both links');
  await context.close();
}));

let heldStops: string[] = [];
const driven = () => { if (!drive) throw new Error('the drive above did not complete'); return drive; };

test(`${PROFILE}: the picture keeps moving: over 15 fps, no gap between frames of ${FREEZE_BOUND_MS} ms or more`, { skip }, () => {
  const { frames } = driven();
  const longest = Math.max(...frames.slice(1).map((t, i) => t - frames[i]!));
  const fps = (frames.length - 1) / ((frames.at(-1)! - frames[0]!) / 1000);
  assert.ok(fps > 15, `video at ${fps.toFixed(1)} fps`);
  assert.ok(longest < FREEZE_BOUND_MS, `longest gap between frames ${longest.toFixed(0)} ms (bound ${FREEZE_BOUND_MS} ms)`);
});

test(`${PROFILE}: the drive reaches the wheels at least ${DRIVE_SHARE_MIN * 100} % of the time the stick is held`, { skip }, () => {
  const { samples } = driven();
  const share = samples.filter(Boolean).length / samples.length;
  // The run lengths of turning (+) and stopped (-) samples, 50 ms apart, say where the drive stopped.
  const runs: string[] = [];
  samples.forEach((x, i) => { if (i === 0 || x !== samples[i - 1]) runs.push(`${x ? '+' : '-'}1`); else runs[runs.length - 1] = `${x ? '+' : '-'}${Number(runs.at(-1)!.slice(1)) + 1}`; });
  assert.ok(share >= DRIVE_SHARE_MIN, `wheels turned ${(share * 100).toFixed(1)} % of the held time; samples ${runs.join(' ')}; deadman stops ${heldStops.length}`);
});

test(`${PROFILE}: the drive datagram channels open through the impaired links (the robot's and the app's)`, { skip }, () => {
  driven();
  assert.ok(channelsOpen >= 2, `drive channels open: ${channelsOpen}, by the relay's log`);
});

// Drive also travels over the datagram channels (app → relay → robot, unordered, never
// retransmitted; docs/RELIABILITY.md), so a lost TCP segment waiting out its retransmission (Linux's
// minimum RTO 200 ms + the 50 ms round trip) no longer stops a driver who is there. Before the
// channels: 1 and 14 deadman stops in two runs of this test; with them, 0 in 5 of 5 runs, and in
// 5 of 5 with a core kept busy (2026-12-06).
test(`${PROFILE}: no deadman stop while the driver holds the stick`, { skip }, () => {
  driven();
  assert.deepEqual(heldStops, [], 'the bridge stopped a driver who was there');
});
