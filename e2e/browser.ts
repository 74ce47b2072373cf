// Real Chromium (Debian's /usr/bin/chromium, never a downloaded build) for end-to-end tests and
// benchmarks, through playwright-core.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export interface BrowserOptions {
  /** Feed Chromium's fake microphone from this WAV file (a tone by default). */
  fakeAudioFile?: string;
  extraArgs?: string[];
  /**
   * Scheduling niceness of the browser (0-19). The end-to-end tests run it at 10: the pages stand
   * for phones, which never take CPU from the robot. Six pages decoding 720p on the 2 cores the
   * robot's processes run on (load ~20) starved the bridge: its timers ran 1.7 s late and the
   * driver's commands expired on the way, about half the runs. Benchmarks keep 0 (their figures
   * include the browser).
   */
  nice?: number;
}

const niceWrappers = new Map<number, string>();

/** A wrapper that execs Chromium at a niceness (playwright-core launches an executable path); one per niceness per process. */
function niceChromium(nice: number): string {
  const made = niceWrappers.get(nice);
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'havatar-chromium-'));
  const file = join(dir, 'chromium');
  writeFileSync(file, `#!/bin/sh\nexec nice -n ${nice} ${JSON.stringify(CHROMIUM)} "$@"\n`);
  chmodSync(file, 0o755);
  niceWrappers.set(nice, file);
  return file;
}

export function launchChromium(opts: BrowserOptions = {}): Promise<Browser> {
  const args = [
    '--no-sandbox',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    '--ignore-certificate-errors',
    ...(opts.fakeAudioFile ? [`--use-file-for-fake-audio-capture=${opts.fakeAudioFile}`] : []),
    ...(opts.extraArgs ?? []),
  ];
  const nice = opts.nice ?? 0;
  if (!(Number.isInteger(nice) && nice >= 0 && nice <= 19)) throw new RangeError(`nice must be 0..19, got ${nice}`);
  const launch: LaunchOptions = { executablePath: nice ? niceChromium(nice) : CHROMIUM, headless: true, args };
  return chromium.launch(launch);
}
