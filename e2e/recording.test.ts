// Recording on demand end to end: real Chromium, the real relay, MediaMTX v1.20.1, bridge and
// simulator on loopback (server mode). The driver's app starts recording; a viewer's app opened
// meanwhile shows the indicator, and so do the bridge's /system_status and the relay's status; the driver stops it,
// opens the recordings list, plays the recording back from MediaMTX's playback server, and the
// frames Chromium plays carry capture times (the simulator's strip, read with the app's decoder)
// inside the interval that was recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { decodeStripFromRgba, stripHeight } from '../protocol/timestamp-strip.ts';
import { waitFor } from '../common/wait.ts';
import { confirmRelay, FIND_IN_SHADOW, onServerVideo } from './app-page.ts';
import { serverStackFixture } from './server-stack.ts';
import { StackLog } from './stack-log.ts';

const stackLog = new StackLog();

const fx = serverStackFixture('havatar-e2e-rec-', stackLog);

async function openApp(context: BrowserContext, role: 'driver' | 'viewer'): Promise<Page> {
  const { invite } = await fx.stack.server!.invite(role);
  const page = await context.newPage();
  await page.goto(`${fx.stack.bridgeUrl}/?invite=${invite}&server=${encodeURIComponent(fx.stack.server!.relayUrl)}#token=${fx.stack.token}`);
  await confirmRelay(page, fx.stack.server!.relayUrl);
  return page;
}

const systemRecording = async (): Promise<{ active: boolean; by: string | null }> => {
  const r = await fetch(`${fx.stack.bridgeUrl}/system_status`, { headers: { authorization: `Bearer ${fx.stack.token}` } });
  return ((await r.json()) as { server: { recording: { active: boolean; by: string | null } } }).server.recording;
};

/** Width the played frame is scaled to before the strip is read (the app's meter reads at 640 too). */
const READ_WIDTH = 640;

/**
 * The top band of the frame the recording <video> shows now, as RGBA at READ_WIDTH px wide, with
 * its playback position; null before it has a frame.
 */
async function playedStrip(page: Page): Promise<{ at: number; image: { data: Uint8Array; width: number; height: number } } | null> {
  // Page-side source (this file is type-checked without the DOM library, like e2e/app-page.ts).
  const got = (await page.evaluate(`(() => {
    ${FIND_IN_SHADOW}
    const v = find(document, 'video[aria-label="Recording"]');
    if (!v || !v.videoWidth || v.readyState < 2) return null;
    // The strip is at the top: the top 15 % of the frame holds it at any aspect.
    const band = Math.ceil(v.videoHeight * 0.15);
    const w = ${READ_WIDTH};
    const h = Math.round(band * (w / v.videoWidth));
    const canvas = Object.assign(document.createElement('canvas'), { width: w, height: h });
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(v, 0, 0, v.videoWidth, band, 0, 0, w, h);
    const data = ctx.getImageData(0, 0, w, h).data;
    let bin = '';
    for (let i = 0; i < data.length; i++) bin += String.fromCharCode(data[i]);
    return { at: v.currentTime, width: w, height: h, b64: btoa(bin) };
  })()`)) as { at: number; width: number; height: number; b64: string } | null;
  if (!got) return null;
  return { at: got.at, image: { data: new Uint8Array(Buffer.from(got.b64, 'base64')), width: got.width, height: got.height } };
}

test('the driver records the robot, everyone sees it, and the recording plays back frames captured while it recorded', stackLog.dumpOnFailure(async () => {
  assert.ok(stripHeight(READ_WIDTH) > 0);
  const driverContext = await fx.browser.newContext();
  const viewerContext = await fx.browser.newContext();
  try {
    const driver = await openApp(driverContext, 'driver');
    // On a starved machine (load 30 on 2 cores seen here) the app may first fall back to local
    // video and return to the server by itself: the waits below allow for that.
    await onServerVideo(driver, 'webrtc', 60_000);
    await driver.getByRole('button', { name: 'Take control' }).click({ timeout: 15_000 });
    await driver.locator('.recording[data-recording="off"]').waitFor({ timeout: 15_000 });

    const startedAt = Date.now();
    await driver.getByRole('button', { name: 'Record', exact: true }).click({ timeout: 20_000 });
    await driver.locator('.recording[data-recording="active"] .rec').waitFor({ timeout: 10_000 });
    // Everyone watching sees it: a viewer who opens the app now (the indicator comes with the
    // relay's welcome; the relay tests check the live change), the robot's /system_status, the
    // relay's status. The viewer's page is closed at once: two pages decoding 720p on a 2-core
    // machine starve the robot's processes.
    const viewer = await openApp(viewerContext, 'viewer');
    // The indicator shows while the viewer's app is on the server path (not while it has fallen
    // back to local video, which it may do at first on a loaded machine).
    await viewer.locator('.recording[data-recording="active"] .rec').waitFor({ timeout: 60_000 });
    assert.equal(await viewer.getByRole('button', { name: 'Record', exact: true }).count(), 0, 'a viewer has no record button');
    assert.equal(await viewer.getByRole('button', { name: 'Recordings', exact: true }).count(), 0, 'nor the recordings list');
    await viewerContext.close();
    assert.equal((await systemRecording()).active, true);
    const status = await (await fetch(`${fx.stack.server!.relayUrl}/api/status`, { headers: { authorization: `Bearer ${fx.stack.server!.adminKey}` } })).json() as { status: { recording: Record<string, unknown> } };
    assert.deepEqual(Object.keys(status.status.recording), [fx.stack.server!.robotId]);

    // A few seconds of the simulated camera, then stop.
    await waitFor('4 s recorded', async () => Date.now() - startedAt, (ms) => ms >= 4000, { timeoutMs: 10_000, everyMs: 200 });
    await driver.getByRole('button', { name: 'Stop recording' }).click({ timeout: 20_000 });
    await driver.locator('.recording[data-recording="off"]').waitFor({ timeout: 10_000 });
    const stoppedAt = Date.now();
    await waitFor('/system_status to say it stopped', systemRecording, (r) => !r.active, 5000);

    // The list (MediaMTX's /list, asked with the driver's token) has it; play it.
    await driver.getByRole('button', { name: 'Recordings', exact: true }).click();
    const item = driver.locator('hv-recordings li').first();
    await item.waitFor({ timeout: 10_000 });
    const start = Date.parse((await item.getAttribute('data-start'))!);
    assert.ok(start >= startedAt - 2000 && start <= stoppedAt, `the recording starts at ${new Date(start).toISOString()}, recording ran ${new Date(startedAt).toISOString()} to ${new Date(stoppedAt).toISOString()}`);
    assert.match(String(await item.getByRole('link', { name: 'Download' }).getAttribute('href')), /\/get\?path=robots%2Fsim&start=.+&format=mp4&token=/);
    await item.getByRole('button', { name: /^Play/ }).click();

    // Read the strip of the frames Chromium plays: distinct frames, each captured while recording.
    const seen: { captureMs: number; frameNo: number; at: number }[] = [];
    const readings = await waitFor('3 decoded frames of the played recording', async () => {
      const got = await playedStrip(driver);
      if (got) {
        const r = decodeStripFromRgba(got.image, stoppedAt);
        if (r && !seen.some((s) => s.frameNo === r.frameNo)) seen.push({ ...r, at: got.at });
      }
      return seen;
    }, (s) => s.length >= 3, { timeoutMs: 15_000, everyMs: 250 });
    for (const r of readings) {
      assert.ok(r.captureMs >= startedAt - 1500 && r.captureMs <= stoppedAt,
        `frame ${r.frameNo} at ${r.at.toFixed(2)} s of the recording was captured at ${new Date(r.captureMs).toISOString()}, outside ${new Date(startedAt).toISOString()}..${new Date(stoppedAt).toISOString()}`);
    }
    const sorted = [...readings].sort((a, b) => a.at - b.at);
    assert.ok(sorted.at(-1)!.captureMs > sorted[0]!.captureMs, 'later in the recording, later captures');
  } finally {
    await driverContext.close().catch(() => {});
    await viewerContext.close().catch(() => {});
  }
}));
