// The app through a 10 s outage of the phone's link, in Server mode and in Auto (what an invite
// sets). The goal: the robot stops within the deadman; video and control are back ≤ 2 s after the
// link returns, with no action from the operator; the app says what is happening meanwhile. The stack sits in a field network (field/netns.ts,
// the 'wired' profile so that only the outage matters); the app drives from Chromium in the phone
// namespace, then the phone's link goes down for 10 s (WireControl.down: every packet dropped both
// ways, the interface stays up, as in a tunnel or a dead cell: the browser sees no `offline`).
// What the app does is read from its own drive view, every 50 ms. Root only (namespaces, TUN).
import { test } from 'node:test';
import { fieldFixture, fieldSkip, wheels } from './field-fixture.ts';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { pushStick } from './operator.ts';
import { StackLog } from './stack-log.ts';
import { confirmRelay, FIND_IN_SHADOW, onServerVideo } from './app-page.ts';
import { sleep, waitFor } from '../common/wait.ts';

const skip = fieldSkip();

const OUTAGE_MS = 10_000;
/**
 * Control and video must be back this soon after the link returns. The goal is 2 s; the bound
 * leaves room for a starved page on a busy 2-core machine (Chromium at nice 10) and still fails
 * the app before this fix, which came back 4-9 s after the link (docs/RELIABILITY.md).
 */
const BACK_BOUND_MS = 3500;
/** The bridge stops a silent driver after 250 ms; read through a portal, 50 ms apart, on a busy machine. */
const STOP_BOUND_MS = 1500;

const stackLog = new StackLog();

const fx = fieldFixture({ prefix: 'havatar-e2e-outage-', profile: 'wired', withOutage: false, log: (name, line) => stackLog.log(name, line) });

const simState = () => wheels(fx.stack);

/** The drive view as the operator sees it: link state, quality bars, who drives, the notices, the picture's message. */
interface Seen { link: string | null; mode: string | null; fallback: string | null; video: string | null; quality: string; you: boolean; notices: string[]; videoMsg: string | null }
const SEEN = `(() => {
  ${FIND_IN_SHADOW}
  const view = document.querySelector('havatar-app')?.shadowRoot?.querySelector('hv-drive-view');
  const hud = view && find(view.shadowRoot, 'hv-hud');
  const state = hud?.shadowRoot?.querySelector('.state');
  return { link: view?.getAttribute('data-link') ?? null, mode: view?.getAttribute('data-mode') ?? null,
    fallback: view?.getAttribute('data-fallback') ?? null, video: view?.getAttribute('data-video-state') ?? null,
    quality: state?.getAttribute('title') ?? '', you: hud?.youDrive === true,
    notices: view ? [...view.shadowRoot.querySelectorAll('.notice')].map((n) => n.textContent.trim()) : [],
    videoMsg: view?.shadowRoot?.querySelector('hv-robot-video')?.shadowRoot?.querySelector('.msg')?.textContent.trim() ?? null };
})()`;
const seen = (page: Page) => page.evaluate(SEEN) as Promise<Seen>;

/** Records the wall time (Date.now(), the same clock as this process) of each video frame presented. */
const RECORD_FRAMES = `(() => {
  const all = (root, out) => { for (const el of root.querySelectorAll('*')) { if (el.tagName === 'VIDEO') out.push(el); if (el.shadowRoot) all(el.shadowRoot, out); } return out; };
  window.__frames = [];
  const watched = new WeakSet();
  const onFrame = (v) => () => { if (!v.isConnected) return; window.__frames.push(Date.now()); v.requestVideoFrameCallback(onFrame(v)); };
  // The player puts a new <video> in place after a reconnect: follow every one on screen.
  setInterval(() => { for (const v of all(document, [])) if (!watched.has(v)) { watched.add(v); v.requestVideoFrameCallback(onFrame(v)); } }, 50);
})()`;
const FRAME_TIMES = '(() => window.__frames.slice())()';

/**
 * Control is back: the relay link live, on the server path, the lease this app's again, and the
 * drive loop not waiting for a release (it halts on every drop and path switch; the stick was
 * released during the outage, and its next tick sees that).
 */
const inControl = (s: Seen) => s.link === 'live' && s.mode === 'server' && s.fallback !== 'true' && s.you && !s.notices.some((n) => n.includes('Release the stick'));

interface Outage { timeline: string[]; during: Seen[]; stoppedAfterMs: number | null; controlBackMs: number | null; videoBackMs: number | null; drivesAgain: boolean; afterPush: Seen | null }

/** Chooses a connection mode in Settings and comes back to the drive view. */
async function chooseMode(page: Page, mode: 'server' | 'auto'): Promise<void> {
  await page.locator('hv-app-header nav a', { hasText: 'Settings' }).click();
  await page.locator(`input[name="mode"][value="${mode}"]`).check();
  await page.getByRole('button', { name: 'Save', exact: true }).first().click();
  await page.getByText('Saved.').waitFor({ timeout: 5000 });
  await page.locator('hv-app-header nav a', { hasText: 'Drive' }).click();
}

/**
 * Drives, takes the phone's link down for OUTAGE_MS, and samples the drive view and the wheels
 * every 50 ms until control is back (or BACK_BOUND_MS + 5 s after the link returned).
 */
async function outageRun(mode: 'auto' | 'server'): Promise<Outage> {
  const context = await fx.browser.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    const { invite } = await fx.stack.invite('driver');
    await page.goto(`${fx.stack.appUrl}?invite=${invite}&server=${encodeURIComponent(fx.stack.relayUrlForPhone)}`);
    await confirmRelay(page, fx.stack.relayUrlForPhone);
    if (mode !== 'auto') await chooseMode(page, mode); // an invite sets Auto
    await onServerVideo(page, 'webrtc', 30_000);
    await page.getByRole('button', { name: 'Take control' }).click({ timeout: 30_000 });
    await page.getByText('you drive').waitFor({ timeout: 15_000 });
    await pushStick(page);
    await waitFor('the wheels turning through the relay', simState, (s) => s.left > 0 && s.right > 0, 5000);
    await page.evaluate(RECORD_FRAMES);

    await fx.net.links.phone.down(OUTAGE_MS);
    const downAt = Date.now();
    const upAt = downAt + OUTAGE_MS;
    const timeline: string[] = [];
    const during: Seen[] = [];
    let last = '';
    let stoppedAt: number | null = null;
    let controlAt: number | null = null;
    let released = false;
    // The stimulus is the outage itself: the page and the wheels are sampled all through it.
    while (Date.now() < upAt + BACK_BOUND_MS + 5000) {
      const now = Date.now();
      const [s, wheels] = await Promise.all([seen(page), simState()]);
      if (stoppedAt === null && wheels.left === 0 && wheels.right === 0) stoppedAt = now;
      if (now < upAt) during.push(s);
      // The operator lets go of the stick while nothing answers (the drive loop wants that before
      // it drives again); nothing is clicked.
      if (!released && now > downAt + OUTAGE_MS / 2) { await page.mouse.up(); released = true; }
      const line = `${s.mode}${s.fallback === 'true' ? ' (fallback)' : ''} link ${s.link} ${s.quality}${s.you ? ' you drive' : ''} video ${s.video}${s.videoMsg ? ` (${s.videoMsg})` : ''} | ${s.notices.join(' | ')}`;
      if (line !== last) { timeline.push(`${String(now - upAt).padStart(6)} ms  ${line}`); last = line; }
      if (now >= upAt && inControl(s)) { controlAt = now; break; }
      await sleep(50); // sampled every 50 ms while the stimulus (the outage, then the recovery) lasts
    }
    const videoFrame = await waitFor('a video frame after the link returned', async () => ((await page.evaluate(FRAME_TIMES)) as number[]).find((t) => t >= upAt),
      (t) => t !== undefined, Math.max(0, upAt + BACK_BOUND_MS + 5000 - Date.now())).catch(() => undefined);
    let drivesAgain = false;
    let afterPush: Seen | null = null;
    if (controlAt !== null) {
      await pushStick(page);
      drivesAgain = await waitFor('the wheels turning again', simState, (s) => s.left > 0 && s.right > 0, 5000).then(() => true, () => false);
      afterPush = await seen(page);
      await page.mouse.up();
      await waitFor('the robot stopped on release', simState, (s) => s.left === 0 && s.right === 0, 3000);
    }
    const r: Outage = {
      timeline, during, drivesAgain, afterPush,
      stoppedAfterMs: stoppedAt === null ? null : stoppedAt - downAt,
      controlBackMs: controlAt === null ? null : controlAt - upAt,
      videoBackMs: videoFrame === undefined ? null : videoFrame - upAt,
    };
    console.log(`# ${mode}: outage ${OUTAGE_MS / 1000} s: wheels stopped ${r.stoppedAfterMs} ms after the link went down; ` +
      `after it came back: control ${r.controlBackMs} ms, video ${r.videoBackMs} ms\n# ${timeline.join('\n# ')}`);
    return r;
  } finally {
    await context.close();
  }
}

// Server: the relay link and the WHEP player reconnect by themselves (ws-link.ts). Auto (what an
// invite sets): the app falls back to local at once, then probes the server until it is back.
for (const mode of ['server', 'auto'] as const) {
  let outage: Outage | null = null;
  const measured = () => { if (!outage) throw new Error('the outage run above did not complete'); return outage; };

  test(`${mode}: the phone's link down ${OUTAGE_MS / 1000} s while driving`, { skip }, stackLog.dumpOnFailure(async () => {
    outage = await outageRun(mode);
  }));

  test(`${mode}: the robot stops within the deadman while the link is down`, { skip }, () => {
    const { stoppedAfterMs } = measured();
    assert.ok(stoppedAfterMs !== null && stoppedAfterMs <= STOP_BOUND_MS, `wheels stopped ${stoppedAfterMs} ms after the link went down (bound ${STOP_BOUND_MS} ms)`);
  });

  test(`${mode}: the app says what is happening during the outage: the link state, no quality bars, a reason, a word on the picture`, { skip }, () => {
    const { during } = measured();
    const late = during.slice(Math.floor(during.length / 2)); // past the detection, before the return
    assert.ok(late.length > 0);
    for (const s of late) {
      assert.notEqual(s.link, 'live', 'the link shown live while nothing answers');
      assert.ok(!s.quality.endsWith('good') && !s.quality.endsWith('fair'), `link quality shown as "${s.quality}"`);
      assert.ok(s.notices.some((n) => /robot|relay|server|connect|answer/i.test(n)), `no reason shown: ${JSON.stringify(s.notices)}`);
      assert.ok(s.videoMsg, `the picture shown as if live (video ${s.video}, no message)`);
    }
  });

  test(`${mode}: control and video back within ${BACK_BOUND_MS} ms of the link returning, with no action from the operator`, { skip }, () => {
    const { controlBackMs, videoBackMs, drivesAgain, afterPush, timeline } = measured();
    const story = `\n${timeline.join('\n')}`;
    assert.ok(controlBackMs !== null && controlBackMs <= BACK_BOUND_MS, `control back ${controlBackMs} ms after the link (bound ${BACK_BOUND_MS} ms)${story}`);
    assert.ok(videoBackMs !== null && videoBackMs <= BACK_BOUND_MS, `video back ${videoBackMs} ms after the link (bound ${BACK_BOUND_MS} ms)${story}`);
    assert.ok(drivesAgain, `a fresh push of the stick did not turn the wheels; the page then: ${JSON.stringify(afterPush)}${story}`);
  });
}
