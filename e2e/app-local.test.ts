// The app in local mode against the real bridge + simulator, in Debian's Chromium: open the link
// with #token=, take control, drag the joystick and see the simulated ESP32 move; release and see
// it stop; close the page while driving and see the robot stop within the deadman time; hold talk
// with the fake microphone and hear it on the simulated speaker; reload offline and get the shell and
// the saved settings back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { freePorts, startStack, type Stack } from '../scripts/stack.ts';
import { RecordingSpeaker } from '../bridge/sim/audio.ts';
import { launchChromium } from './browser.ts';
import { holdTalk, pushStick, toneFile } from './operator.ts';
import { waitFor } from '../common/wait.ts';
import { StackLog } from './stack-log.ts';

let stack: Stack;
let browser: Browser;
let dataDir: string;
const stackLog = new StackLog();

interface SimState { left: number; right: number; stopped: boolean }
const simState = async (): Promise<SimState> => (await fetch(`${stack.simControlUrl}/state`)).json() as Promise<SimState>;


async function openAsDriver(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${stack.bridgeUrl}/#token=${stack.token}`);
  assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
  await page.getByRole('button', { name: 'Take control' }).click({ timeout: 10_000 });
  await page.getByText('you drive').waitFor({ timeout: 3000 });
  return page;
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'havatar-e2e-app-'));
  stack = await startStack({ log: stackLog.log, dataDir, ports: await freePorts() });
  browser = await launchChromium({ fakeAudioFile: toneFile(dataDir, 440, 30), nice: 10 });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('driving with the joystick moves the simulated robot forward, releasing stops it', stackLog.dumpOnFailure(async () => {
  const page = await openAsDriver();
  await pushStick(page);
  const moving = await waitFor('both tracks forward', simState, (s) => s.left > 0 && s.right > 0);
  assert.ok(Math.abs(moving.left - moving.right) <= 2, 'straight ahead drives both tracks alike');
  await page.mouse.up();
  await waitFor('tracks stopped', simState, (s) => s.left === 0 && s.right === 0, 1000);
  await page.close();
}));

test('closing the page while driving stops the robot within the deadman time', stackLog.dumpOnFailure(async () => {
  const page = await openAsDriver();
  await pushStick(page);
  await waitFor('moving', simState, (s) => s.left > 0);
  const closedAt = Date.now();
  await page.close();
  await waitFor('stopped after close', simState, (s) => s.left === 0 && s.right === 0, 1000);
  assert.ok(Date.now() - closedAt < 1000, 'stopped within a second of the page closing');
}));

test('holding talk with the fake microphone plays the operator on the robot speaker; releasing stops it', stackLog.dumpOnFailure(async () => {
  const speaker = new RecordingSpeaker(join(dataDir, 'speaker'));
  const before = speaker.recordings().length;
  const page = await openAsDriver();
  await holdTalk(page);
  const heldAt = Date.now();
  await page.getByText('Talking').waitFor({ timeout: 3000 });
  // A string: this file is type-checked without the DOM library.
  const framesSent = async () => (await page.evaluate(
    "document.querySelector('havatar-app').shadowRoot.querySelector('hv-drive-view').media.talk.framesSent",
  )) as number;
  const sent = await waitFor('15 talk frames sent', framesSent, (n) => n >= 15, 3000);
  const heldMs = Date.now() - heldAt;
  assert.ok(sent / heldMs * 1000 >= 15, `frames go out at a talking pace while held (${sent} in ${heldMs} ms)`);
  await page.waitForTimeout(700); // the stimulus: keep talking, so the speaker records a real stretch
  await page.mouse.up();
  await page.getByText('Hold to talk').waitFor({ timeout: 2000 });
  const heard = await waitFor(
    'a non-silent recording on the simulated speaker',
    async () => speaker.recordings().slice(before),
    (r) => r.some((x) => x.durationMs >= 300 && x.rms > 0.01),
    4000,
  );
  const rec = heard.find((x) => x.durationMs >= 300)!;
  assert.ok(rec.durationMs < 5000, `the speaker stops after release (recorded ${rec.durationMs} ms)`);
  await page.close();
}));

test('reloading offline brings back the app shell and the saved settings', stackLog.dumpOnFailure(async () => {
  // bypassCSP: the app's CSP forbids eval, which playwright's waitForFunction polling needs.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${stack.bridgeUrl}/#token=${stack.token}`);
  // The first visit installs the service worker (precaching the shell); it controls pages from
  // the next load on (registerType 'prompt': no clients.claim, so a page is never swapped mid-drive).
  await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
  await page.reload();
  await page.waitForFunction('navigator.serviceWorker.controller !== null', null, { timeout: 10_000 });
  await page.goto(`${stack.bridgeUrl}/settings`);
  const name = page.locator('input[name="operatorName"]');
  await name.fill('Ana on the tablet');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved.').waitFor({ timeout: 3000 });

  await context.setOffline(true);
  await page.reload();
  await page.locator('havatar-app').waitFor({ timeout: 5000 });
  await page.locator('input[name="operatorName"]').waitFor({ timeout: 5000 });
  assert.equal(await page.locator('input[name="operatorName"]').inputValue(), 'Ana on the tablet');
  assert.notEqual(await page.locator('input[name="token"]').inputValue(), '', 'the token survives offline');
  await context.close();
}));
