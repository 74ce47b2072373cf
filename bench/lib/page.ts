// The benchmark page: bench/page/measure.js (the app's own players + the strip decoder + audio
// marker worklets) bundled once with esbuild, then served INSIDE Chromium with page.route() on
// whatever origin the measurement needs (the bridge's, so MJPEG pixels are same-origin and
// readable) — no extra HTTP server, no proxy in the media path.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../../scripts/stack.ts';
import { launchChromium, type BrowserOptions } from '../../e2e/browser.ts';

let bundle: Promise<string> | null = null;

export function pageBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [`${ROOT}/bench/page/measure.js`],
    bundle: true, format: 'iife', platform: 'browser', target: 'chrome120', write: false, minify: false, logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  return bundle;
}

let playoutWorker: Promise<string> | null = null;
/** The app's Opus receiver worker (low-latency audio), bundled on its own as the app's bundler does. */
function playoutWorkerBundle(): Promise<string> {
  playoutWorker ??= build({
    entryPoints: [`${ROOT}/src/lib/audio/opus-receiver-worker.ts`],
    bundle: true, format: 'iife', platform: 'browser', target: 'chrome120', write: false, minify: false, logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  return playoutWorker;
}

/** Opens the bench page at `<origin>/__bench/` (served by Playwright, not by the origin). */
export async function openBenchPage(browser: Browser, origin: string): Promise<Page> {
  const js = await pageBundle();
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`[page] ${e.message}`));
  if (process.env.BENCH_DEBUG) page.on('console', (m) => { if (m.type() === 'warning' || m.type() === 'error') console.error(`[page] ${m.text()}`); });
  await page.route(`${origin}/__bench/**`, (route) => {
    const url = route.request().url();
    if (url.endsWith('/measure.js')) return route.fulfill({ contentType: 'application/javascript', body: js });
    // The app's low-latency audio files, as sources: a worklet's or a worker's own fetch does not
    // pass through page.route(), so the page loads them from blob: URLs (this page has no CSP).
    if (url.endsWith('/playout-sources.js')) {
      return void playoutWorkerBundle().then((worker) => route.fulfill({
        contentType: 'application/javascript',
        body: `window.benchPlayoutSources = ${JSON.stringify({ worker, worklet: readFileSync(`${ROOT}/src/lib/audio/playout-buffer.js`, 'utf8') })};`,
      }));
    }
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>bench</title><body></body><script src="playout-sources.js"></script><script src="measure.js"></script>' });
  });
  await page.goto(`${origin}/__bench/index.html`);
  await page.waitForFunction('"bench" in window');
  return page;
}

/**
 * Chromium for the benchmarks. The bench page is fulfilled by Playwright (no server address), and
 * Chromium's Local Network Access check then refuses its fetches to 127.0.0.1 (WHEP, WHIP): the
 * check is turned off; nothing else differs from e2e/browser.ts.
 */
export function benchBrowser(opts: BrowserOptions = {}): Promise<Browser> {
  return launchChromium({ ...opts, extraArgs: ['--disable-features=LocalNetworkAccessChecks', ...(opts.extraArgs ?? [])] });
}
