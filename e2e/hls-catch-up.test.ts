// The app's HLS player (src/lib/video/hls-player.ts) never stays behind the live edge: held back on
// purpose — its video paused, or every HLS request held up as a stalled network would — it returns
// near the live edge by itself. Real MediaMTX (LL-HLS defaults: 1 s segments, 200 ms parts) fed by
// the bench's floor pipeline (bench/lib/floor.ts: a timestamp strip on every frame), real Chromium,
// the app's own HlsPlayer through the bench page; latency is glass-to-glass from the strip.
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startFloorMediamtx, type FloorMediamtx } from '../bench/lib/floor.ts';
import { benchBrowser, openBenchPage } from '../bench/lib/page.ts';
import { sleep, waitFor } from '../common/wait.ts';

/** How long the player is held back: four times its ~0.6-1 s distance to the edge. */
const HOLD_MS = 4000;
/** Back "near the edge": within this much of the latency measured before the hold. */
const NEAR_MS = 700;
/** The jump waits for hls.js to notice (~250 ms), then for the parts at the edge to load. */
const BACK_WITHIN_MS = 10_000;

interface Bench {
  start(kind: string, url: string, token: string | null): Promise<boolean>;
  stop(): void;
  measure(o: { frames: number; timeoutMs: number; warmupMs: number }): Promise<{ samples: { lat: number }[] }>;
}

let floor: FloorMediamtx;
let browser: Browser;
let page: Page;

before(async () => {
  floor = await startFloorMediamtx();
  browser = await benchBrowser();
  page = await openBenchPage(browser, new URL(floor.hlsUrl).origin);
});

after(async () => {
  await browser?.close();
  await floor?.stop();
});

/** Median glass-to-glass latency over the next `frames` presented frames. */
async function latency(frames = 10): Promise<number> {
  // bench.measure() looks at its timeout only when a frame comes: a stalled player needs a race.
  const r = await page.evaluate((n) => Promise.race([
    (globalThis as unknown as { bench: Bench }).bench.measure({ frames: n, timeoutMs: 5000, warmupMs: 0 }),
    // Not a wait: the window the stimulus (a stalled player) gets to show a frame before it counts as none.
    new Promise<{ samples: { lat: number }[] }>((res) => setTimeout(() => res({ samples: [] }), 5000)),
  ]), frames);
  const lat = r.samples.map((s) => s.lat).sort((a, b) => a - b);
  if (!lat.length) throw new Error('no frame presented');
  return lat[Math.floor(lat.length / 2)]!;
}

async function playing(): Promise<number> {
  await page.evaluate((url) => (globalThis as unknown as { bench: Bench }).bench.start('ours-hls', url, null), floor.hlsUrl);
  // Its first frame (hls.js needs a playlist, a segment's worth of parts), then 2 s of playing.
  const first = await page.evaluate(() => (globalThis as unknown as { bench: Bench }).bench.measure({ frames: 1, timeoutMs: 30_000, warmupMs: 2000 }));
  if (!first.samples.length) throw new Error('the HLS player showed no frame in 30 s');
  return latency(30);
}

async function backNearEdge(what: string, before: number, heldAt: number): Promise<void> {
  const back = await waitFor(`${what}: back within ${NEAR_MS} ms of ${Math.round(before)} ms`, () => latency(), (l) => l <= before + NEAR_MS, { timeoutMs: BACK_WITHIN_MS, everyMs: 0 });
  console.log(`# ${what}: ${Math.round(before)} ms before, ${Math.round(back)} ms again ${Date.now() - heldAt} ms after the hold began`);
}

test('a paused HLS player jumps back near the live edge when it plays again', async () => {
  const before = await playing();
  const heldAt = Date.now();
  await page.evaluate('document.querySelector("video").pause()');
  await sleep(HOLD_MS); // the stimulus: the stall itself, not a wait for something
  await page.evaluate('document.querySelector("video").play()');
  await backNearEdge('paused', before, heldAt);
  await page.evaluate(() => (globalThis as unknown as { bench: Bench }).bench.stop());
});

test('an HLS player whose requests stall for seconds returns near the live edge by itself', async () => {
  const before = await playing();
  const held: (() => void)[] = [];
  let holding = true;
  await page.route(`${new URL(floor.hlsUrl).origin}/floor/**`, async (route) => {
    if (holding) await new Promise<void>((r) => held.push(r));
    await route.continue().catch(() => {}); // the player may have given the request up
  });
  await page.evaluate('window.__waiting = 0; document.querySelector("video").addEventListener("waiting", () => window.__waiting++)');
  const heldAt = Date.now();
  // The stall is real: the player runs out of picture and says so ('waiting').
  await waitFor('the player waiting for data while its requests are held', () => page.evaluate('window.__waiting'), (n) => Number(n) > 0, HOLD_MS * 3);
  await sleep(Math.max(0, HOLD_MS - (Date.now() - heldAt))); // the stimulus: the rest of the stall itself
  holding = false;
  for (const release of held.splice(0)) release();
  await backNearEdge('requests held', before, heldAt);
  await page.unroute(`${new URL(floor.hlsUrl).origin}/floor/**`);
  await page.evaluate(() => (globalThis as unknown as { bench: Bench }).bench.stop());
});
