// The app under its own Content-Security-Policy, in Debian's Chromium against
// the real bridge, relay and MediaMTX: served by the bridge in local mode (API, /ws, MJPEG, talk
// over the WebSocket with the audio worklet, the service worker) and in server mode (invite
// redeemed after the confirm, WebRTC video over WHEP, talk over WHIP, HLS through hls.js), the
// page reports no `securitypolicyviolation` and no console error about the policy. A last probe
// (a fetch to a host the policy does not name) must be refused: the policy is really enforced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Stack } from '../scripts/stack.ts';
import { launchChromium } from './browser.ts';
import { startServerStack } from './server-stack.ts';
import { holdTalk, toneFile } from './operator.ts';
import { waitFor } from '../common/wait.ts';
import { StackLog } from './stack-log.ts';

let stack: Stack;
let browser: Browser;
let dataDir: string;
const stackLog = new StackLog();

interface Watch { violations: string[]; consoleErrors: string[]; pageErrors: string[] }

/** A context whose pages report every CSP violation (from the page's own event) and console error. */
async function watchedContext(): Promise<{ context: BrowserContext; watch: Watch }> {
  const watch: Watch = { violations: [], consoleErrors: [], pageErrors: [] };
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  await context.exposeBinding('__havatarCspViolation', (_src, v: string) => void watch.violations.push(v));
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    window.__havatarCspViolation(e.effectiveDirective + ' blocked ' + e.blockedURI + ' (' + e.sourceFile + ':' + e.lineNumber + ')'));`);
  context.on('page', (page) => {
    page.on('console', (m) => { if (m.type() === 'error') watch.consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => watch.pageErrors.push(e.message));
  });
  return { context, watch };
}

const CSP_WORDS = /Content Security Policy|Refused to/i;

function assertClean(watch: Watch, what: string): void {
  assert.deepEqual(watch.violations, [], `${what}: no CSP violations`);
  assert.deepEqual(watch.consoleErrors.filter((t) => CSP_WORDS.test(t)), [], `${what}: no console errors about the policy`);
  assert.deepEqual(watch.pageErrors, [], `${what}: no uncaught errors`);
  if (watch.consoleErrors.length) console.log(`# ${what}: other console errors: ${watch.consoleErrors.join(' | ')}`);
}

/** The policy is enforced (not just sent): a fetch to a host it does not name is refused and reported. */
async function assertEnforced(page: Page, watch: Watch): Promise<void> {
  const result = await page.evaluate(`fetch('https://not-allowed.example/steal').then(() => 'sent', (e) => 'refused: ' + e.message)`);
  assert.match(String(result), /^refused/);
  await waitFor('the probe reported as a violation', async () => watch.violations, (v) => v.some((x) => x.includes('connect-src') && x.includes('not-allowed.example')), 3000);
}

const DRIVE_VIEW = "document.querySelector('havatar-app')?.shadowRoot?.querySelector('hv-drive-view')";
const viewState = (page: Page) =>
  page.evaluate(`(() => { const v = ${DRIVE_VIEW}; return v ? { mode: v.getAttribute('data-mode'), video: v.getAttribute('data-video'), state: v.getAttribute('data-video-state') } : {}; })()`) as
    Promise<{ mode?: string | null; video?: string | null; state?: string | null }>;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'havatar-e2e-csp-'));
  // The stack and the browser need nothing of each other: they start together.
  [stack, browser] = await Promise.all([startServerStack(stackLog.log, dataDir), launchChromium({ fakeAudioFile: toneFile(dataDir, 523, 30), nice: 10 })]);
});

after(async () => {
  await Promise.all([browser?.close(), stack?.stop()]);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('local mode from the bridge: drive, MJPEG, talk and the service worker work with no CSP violation', stackLog.dumpOnFailure(async () => {
  const { context, watch } = await watchedContext();
  const page = await context.newPage();
  const res = await page.goto(`${stack.bridgeUrl}/#token=${stack.token}`);
  assert.match((await res!.allHeaders())['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  await page.getByRole('button', { name: 'Take control' }).click({ timeout: 10_000 });
  await page.getByText('you drive').waitFor({ timeout: 5000 });
  await waitFor('MJPEG on screen', () => viewState(page), (s) => s.video === 'mjpeg' && s.state === 'playing', 10_000);
  await holdTalk(page);
  await page.locator('hv-drive-view [data-speaker="playing"]').waitFor({ timeout: 8000 });
  await page.mouse.up();
  assert.equal(await page.evaluate('navigator.serviceWorker.ready.then(() => true)'), true, 'the service worker installs under the policy');
  await page.goto(`${stack.bridgeUrl}/settings`);
  await page.locator('input[name="operatorName"]').waitFor({ timeout: 5000 });
  await page.goto(`${stack.bridgeUrl}/status`);
  await page.locator('hv-status-view').waitFor({ timeout: 5000 });
  assertClean(watch, 'local mode');
  await assertEnforced(page, watch);
  await context.close();
}));

test('server mode from the bridge: invite, WebRTC video, WHIP talk, then HLS, with no CSP violation', stackLog.dumpOnFailure(async () => {
  const { context, watch } = await watchedContext();
  const open = async (query: string, asked: boolean): Promise<Page> => {
    const { invite } = await stack.server!.invite('driver');
    const page = await context.newPage();
    await page.goto(`${stack.bridgeUrl}/?invite=${invite}&server=${encodeURIComponent(stack.server!.relayUrl)}${query}#token=${stack.token}`);
    // The first link names a relay this app does not use yet: the operator confirms it. The
    // second names the relay now in use: no question.
    if (asked) await page.getByRole('button', { name: `Connect to ${new URL(stack.server!.relayUrl).host}` }).click({ timeout: 10_000 });
    return page;
  };
  const page = await open('', true);
  await waitFor('server WebRTC video playing', () => viewState(page), (s) => s.mode === 'server' && s.video === 'webrtc' && s.state === 'playing', 20_000);
  await page.getByRole('button', { name: 'Take control' }).click({ timeout: 10_000 });
  await page.getByText('you drive').waitFor({ timeout: 5000 });
  await holdTalk(page);
  await page.locator('hv-drive-view [data-speaker="playing"]').waitFor({ timeout: 8000 });
  await page.mouse.up();
  await page.close();

  const hls = await open('&video=hls', false);
  await waitFor('server HLS video playing', () => viewState(hls), (s) => s.mode === 'server' && s.video === 'hls' && s.state === 'playing', 20_000);
  assertClean(watch, 'server mode');
  await assertEnforced(hls, watch);
  await context.close();
}));
