// The drive view on a phone against the real server-mode stack (bridge, simulator, relay,
// MediaMTX), in Debian's Chromium as a 390×844 touch phone: opened from an invite link (Auto mode,
// on the server, WebRTC video playing), control taken, the video area as tall as the 16:9 picture;
// then STOP, Hold to talk, the joystick and Release control are fully on screen and apart, the
// navigation and the text field are reachable, and the page does not scroll; the same with a notch
// and a home indicator (safe-area insets set through the DevTools protocol). The layout test
// (src/views/layout.test.ts) covers every state and screen size with fake links; this one is the
// same check with everything real.
// HAVATAR_SCREENSHOTS=1 also saves the screen to docs/screenshots (the README's picture).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { ROOT } from '../scripts/stack.ts';
import { serverStackFixture } from './server-stack.ts';
import { waitFor } from '../common/wait.ts';
import { StackLog } from './stack-log.ts';

const stackLog = new StackLog();
const PHONE = { width: 390, height: 844 };

const DRIVE_VIEW = "document.querySelector('havatar-app')?.shadowRoot?.querySelector('hv-drive-view')";
const driveState = (page: Page): Promise<{ mode?: string; video?: string; videoState?: string }> =>
  page.evaluate(`(() => { const v = ${DRIVE_VIEW}; return v ? { mode: v.dataset.mode, video: v.dataset.video, videoState: v.dataset.videoState } : {}; })()`);

interface Box { x: number; y: number; width: number; height: number }
const onScreen = (b: Box): boolean => b.x >= 0 && b.y >= 0 && b.x + b.width <= PHONE.width + 0.5 && b.y + b.height <= PHONE.height + 0.5;
const apart = (a: Box, b: Box): boolean =>
  a.x + a.width <= b.x + 0.5 || b.x + b.width <= a.x + 0.5 || a.y + a.height <= b.y + 0.5 || b.y + b.height <= a.y + 0.5;

async function box(name: string, locator: Locator): Promise<[string, Box]> {
  const b = await locator.boundingBox();
  assert.ok(b, `${name} is shown`);
  return [name, b];
}

const fx = serverStackFixture('havatar-e2e-layout-', stackLog);

test('on a 390×844 phone in Auto mode on the server, every control is on screen and apart', stackLog.dumpOnFailure(async () => {
  const context = await fx.browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  try {
    const page = await context.newPage();
    const { invite } = await fx.stack.server!.invite('driver');
    await page.goto(`${fx.stack.bridgeUrl}/?invite=${invite}&server=${encodeURIComponent(fx.stack.server!.relayUrl)}#token=${fx.stack.token}`);
    await page.getByRole('button', { name: `Connect to ${new URL(fx.stack.server!.relayUrl).host}` }).tap({ timeout: 10_000 });
    await waitFor('server video playing', () => driveState(page), (s) => s.mode === 'server' && s.video === 'webrtc' && s.videoState === 'playing', 20_000);
    await page.getByRole('button', { name: 'Take control' }).tap({ timeout: 10_000 });
    await page.getByText('you drive').waitFor({ timeout: 5000 });
    assert.match((await page.locator('hv-app-header .mode').textContent()) ?? '', /^Auto · server$/);
    // The video area takes the 16:9 picture's height at full width, no letterbox bars eating the controls' room.
    await waitFor('the video area to fit the 16:9 picture', async () => (await page.locator('hv-robot-video').boundingBox())?.height ?? 0,
      (h) => Math.abs(h - (PHONE.width * 9) / 16) < 2, 5000);

    const controlLocators: [string, Locator][] = [
      ['STOP', page.locator('hv-drive-view .stop button')],
      ['Hold to talk', page.locator('hv-talk-button button')],
      ['joystick', page.locator('hv-joystick')],
      ['Release control', page.getByRole('button', { name: 'Release control' })],
    ];
    const reachableLocators: [string, Locator][] = [
      ...['Drive', 'Status', 'Settings'].map((n): [string, Locator] => [`${n} link`, page.locator('hv-app-header nav a', { hasText: n })]),
      ['text field', page.locator('input[name="tts"]')],
      ['Say', page.getByRole('button', { name: 'Say', exact: true })],
    ];
    const controls = await Promise.all(controlLocators.map(([n, l]) => box(n, l)));
    const reachable = await Promise.all(reachableLocators.map(([n, l]) => box(n, l)));
    for (const [name, b] of [...controls, ...reachable]) assert.ok(onScreen(b), `${name} ${JSON.stringify(b)} is fully on the 390×844 screen`);
    for (const [i, [a, ba]] of controls.entries()) {
      for (const [b, bb] of controls.slice(i + 1)) assert.ok(apart(ba, bb), `${a} ${JSON.stringify(ba)} and ${b} ${JSON.stringify(bb)} do not overlap`);
    }
    const page$ = (await page.evaluate('[document.scrollingElement.scrollWidth, document.scrollingElement.scrollHeight]')) as number[];
    assert.deepEqual(page$, [PHONE.width, PHONE.height], 'the page does not scroll');
    if (process.env.HAVATAR_SCREENSHOTS) await page.screenshot({ path: join(ROOT, 'docs/screenshots/drive-auto-server-live-phone-390x844.png') });

    // A notch (47 px) and a home indicator (34 px), as an iPhone reports them (viewport-fit=cover):
    // every control and link clear of both, still apart.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setSafeAreaInsetsOverride' as 'Emulation.setDeviceMetricsOverride', { insets: { top: 47, bottom: 34, left: 0, right: 0 } } as never);
    await waitFor('the header below the notch', async () => (await page.locator('hv-app-header nav a').first().boundingBox())?.y ?? 0, (y) => y >= 47, 3000);
    const inset = await Promise.all([...controlLocators, ...reachableLocators].map(([n, l]) => box(n, l)));
    for (const [name, b] of inset) {
      assert.ok(b.y >= 47 - 0.5 && b.y + b.height <= PHONE.height - 34 + 0.5, `${name} ${JSON.stringify(b)} is clear of the notch and the home indicator`);
    }
    const insetControls = inset.slice(0, controlLocators.length);
    for (const [i, [a, ba]] of insetControls.entries()) {
      for (const [b, bb] of insetControls.slice(i + 1)) assert.ok(apart(ba, bb), `${a} and ${b} do not overlap with the insets`);
    }
  } finally {
    await context.close();
  }
}));
