// Screenshots of the app for docs/screenshots: every connection mode on a phone (portrait and
// landscape) and a tablet, taken in Debian's Chromium as a touch phone (isMobile, hasTouch) from
// the real app shell in the layout test's states (src/test/layout-states.ts) with a test picture
// for the camera. Served by Vite's dev server; nothing else runs.
//   node --import tsx scripts/screenshots.ts
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'vite';
import { launchChromium } from '../e2e/browser.ts';
import { ROOT } from './stack.ts';

/** One of src/test/layout-states.ts's LAYOUT_STATES (not imported: that is browser code). */
type LayoutState = string;

interface Insets { top: number; bottom: number; left: number; right: number }
interface Shot { state: LayoutState; view: 'drive' | 'status' | 'settings'; device: string; width: number; height: number; mobile: boolean; insets?: Insets }

const PHONE = { device: 'phone', width: 390, height: 844, mobile: true };
const SMALL = { device: 'phone', width: 360, height: 740, mobile: true };
const SMALLEST = { device: 'phone', width: 320, height: 568, mobile: true };
const LANDSCAPE = { device: 'phone-landscape', width: 844, height: 390, mobile: true };
const LANDSCAPE_SMALLEST = { device: 'phone-landscape', width: 568, height: 320, mobile: true };
const TABLET = { device: 'tablet', width: 1024, height: 768, mobile: true };
const TABLET_PORTRAIT = { device: 'tablet', width: 768, height: 1024, mobile: true };

const MODES: { state: LayoutState; name: string }[] = [
  { state: 'local-driving', name: 'local' },
  { state: 'server-driving', name: 'server' },
  { state: 'auto-server-driving', name: 'auto-server' },
  { state: 'auto-server-lost', name: 'auto-fallback' },
];

const SHOTS: (Shot & { name: string })[] = [
  ...MODES.flatMap(({ state, name }) => [PHONE, LANDSCAPE, TABLET].map((d) => ({ state, view: 'drive' as const, name, ...d }))),
  { state: 'server-driving', view: 'drive', name: 'server', ...SMALL },
  { state: 'auto-server-lost', view: 'drive', name: 'auto-fallback', ...SMALLEST },
  { state: 'auto-server-lost', view: 'drive', name: 'auto-fallback', ...LANDSCAPE_SMALLEST },
  { state: 'server-driving', view: 'drive', name: 'server', ...TABLET_PORTRAIT },
  { state: 'server-viewing', view: 'drive', name: 'server-viewing', ...PHONE },
  { state: 'local-robot-offline', view: 'drive', name: 'local-robot-offline', ...PHONE },
  // An iPhone's notch and home indicator (safe-area insets), both ways up.
  { state: 'server-driving', view: 'drive', name: 'server-notch', ...PHONE, insets: { top: 47, bottom: 34, left: 0, right: 0 } },
  { state: 'server-driving', view: 'drive', name: 'server-notch', ...LANDSCAPE, insets: { top: 0, bottom: 21, left: 47, right: 47 } },
  { state: 'server-driving', view: 'status', name: 'server', ...PHONE },
  { state: 'server-driving', view: 'settings', name: 'server', ...PHONE },
];

const OUT = join(ROOT, 'docs', 'screenshots');
mkdirSync(OUT, { recursive: true });

const vite = await createServer({ root: ROOT, logLevel: 'error', server: { host: '127.0.0.1', port: 0, strictPort: false } });
await vite.listen();
const base = vite.resolvedUrls!.local[0]!;
const browser = await launchChromium();
try {
  for (const s of SHOTS) {
    const context = await browser.newContext({ viewport: { width: s.width, height: s.height }, isMobile: s.mobile, hasTouch: s.mobile, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    if (s.insets) await (await context.newCDPSession(page)).send('Emulation.setSafeAreaInsetsOverride' as 'Emulation.setDeviceMetricsOverride', { insets: s.insets } as never);
    await page.goto(`${base}scripts/screenshots.html?state=${s.state}&view=${s.view}`);
    try {
      await page.locator('html[data-ready="yes"]').waitFor({ timeout: 15_000 });
    } catch (e) {
      throw new Error(`${s.state} ${s.view}: not ready (${errors.join('; ') || (e as Error).message})`);
    }
    // Two more frames: the joystick rebuilt to its zone's size is drawn.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const file = join(OUT, `${s.view}-${s.name}-${s.device}-${s.width}x${s.height}.png`);
    await page.screenshot({ path: file });
    console.log(file.slice(ROOT.length + 1));
    await context.close();
  }
} finally {
  await browser.close();
  await vite.close();
}
