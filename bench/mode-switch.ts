// Mode switching as the operator sees it: the real app (dist/, opened from an invite link with the
// robot's token for local mode, Auto) in headless Chromium, on WebRTC server video; MediaMTX is
// SIGKILLed → time until the drive view says local + MJPEG + playing and an <img> shows pictures;
// MediaMTX restarted → time (from MediaMTX ready) until server + webrtc + playing again.
//   node --import tsx bench/mode-switch.ts [--cycles 1]
import type { Browser, Page } from 'playwright-core';
import { confirmRelay } from '../e2e/app-page.ts';
import { benchBrowser } from './lib/page.ts';
import { startBenchStack, type BenchStack } from './lib/stack.ts';
import { arg, dist, emitResult, machine, onInterrupt, waitFor } from './lib/util.ts';

const CYCLES = Math.min(10, Math.max(1, Number(arg('cycles', '1'))));
const DRIVE_VIEW = "document.querySelector('havatar-app')?.shadowRoot?.querySelector('hv-drive-view')";
interface View { mode?: string | null; video?: string | null; videoState?: string | null; img?: boolean }
const view = (page: Page) => page.evaluate(`(() => { const v = ${DRIVE_VIEW}; if (!v) return {};
  const find = (root, sel) => { const hit = root.querySelector(sel); if (hit) return hit;
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const h = find(el.shadowRoot, sel); if (h) return h; } return null; };
  const img = find(document, 'img[alt="Robot camera"]');
  return { mode: v.getAttribute('data-mode'), video: v.getAttribute('data-video'), videoState: v.getAttribute('data-video-state'), img: !!(img && img.isConnected && img.naturalWidth > 0) }; })()`) as Promise<View>;

let bs: BenchStack | null = null;
let browser: Browser | null = null;
async function cleanup() { await browser?.close().catch(() => {}); await bs?.stop().catch(() => {}); }
onInterrupt(cleanup);
try {
  const m = machine();
  bs = await startBenchStack({ build: true, fresh: true }); // it kills and restarts MediaMTX
  await bs.waitLive();
  browser = await benchBrowser();
  const { invite } = await bs.stack.server!.invite('viewer');
  const page = await browser.newPage();
  await page.goto(`${bs.bridgeUrl}/?invite=${invite}&server=${encodeURIComponent(bs.stack.server!.relayUrl)}#token=${bs.stack.token}`);
  // The app asks before it trusts a relay an invite names, as it asks an operator.
  await confirmRelay(page, bs.stack.server!.relayUrl);
  const onServer = (v: View) => v.mode === 'server' && v.video === 'webrtc' && v.videoState === 'playing';
  await waitFor('server WebRTC video in the app', async () => onServer(await view(page)), 30000, 50);
  const toLocal: number[] = [];
  const toServer: number[] = [];
  for (let i = 0; i < CYCLES; i++) {
    const mtx = bs.stack.procs.find((p) => p.name === 'mediamtx')!;
    const killedAt = Date.now();
    process.kill(-mtx.child.pid!, 'SIGKILL');
    await waitFor('local MJPEG in the app', async () => { const v = await view(page); return v.mode === 'local' && v.video === 'mjpeg' && v.videoState === 'playing' && v.img; }, 15000, 20);
    toLocal.push(Date.now() - killedAt);
    await bs.stack.restart('mediamtx');
    const backAt = Date.now();
    await waitFor('server WebRTC video back in the app', async () => onServer(await view(page)), 30000, 20);
    toServer.push(Date.now() - backAt);
    console.error(`cycle ${i + 1}: local video ${toLocal.at(-1)} ms after the kill; server video ${toServer.at(-1)} ms after MediaMTX was ready`);
  }
  emitResult({ bench: 'mode-switch', cycles: CYCLES, machine: m, loadAfter: machine().load, toLocal: dist(toLocal), toServer: dist(toServer),
    note: 'Times are measured by polling the drive view every 20 ms (data-mode, data-video, data-video-state) and, for local, a decoded <img>.' });
} finally {
  await cleanup();
}
