// A driver's voice as the app sends it: WHIP from headless Chromium, publishing the bench page's
// generated marker track (1 kHz bursts). MediaMTX takes talk over WebRTC only (the relay refuses
// an operator's RTSP publish, server/relay/mediamtx-auth.ts), so tests that need talk flowing use
// this rather than FFmpeg.
import { benchBrowser, openBenchPage } from '../../bench/lib/page.ts';

export interface Talker {
  /**
   * Publishes to `whipUrl` (e.g. http://127.0.0.1:8889/robots/sim/talk/whip) with `token`; rejects
   * with MediaMTX's answer (`WHIP <status> …`) when the publish is refused.
   */
  publish(whipUrl: string, token: string): Promise<void>;
  /** Ends the publish and the browser. */
  stop(): Promise<void>;
}

interface BenchWindow { bench: { talk(url: string, token: string): Promise<boolean> } }

/**
 * Chromium with the page loaded and nothing published yet: starting a browser takes seconds on a
 * busy machine, longer than the robot waits for talk audio after talk start (TALK_GIVE_UP_MS), so
 * a test opens it first and publishes when the app would.
 */
export async function openTalker(origin: string): Promise<Talker> {
  const browser = await benchBrowser();
  try {
    // The page is served by Playwright on this origin; nothing listens there.
    const page = await openBenchPage(browser, origin);
    return {
      publish: async (whipUrl, token) => { await page.evaluate(([u, t]) => (globalThis as unknown as BenchWindow).bench.talk(u!, t!), [whipUrl, token]); },
      stop: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** Opens a talker and publishes at once. */
export async function whipTalk(whipUrl: string, token: string): Promise<Talker> {
  const talker = await openTalker(new URL(whipUrl).origin);
  try {
    await talker.publish(whipUrl, token);
    return talker;
  } catch (err) {
    await talker.stop();
    throw err;
  }
}
