// Real Chromium (Debian's /usr/bin/chromium, never a downloaded build) for end-to-end tests and
// benchmarks, through playwright-core.
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export interface BrowserOptions {
  /** Feed Chromium's fake microphone from this WAV file (a tone by default). */
  fakeAudioFile?: string;
  extraArgs?: string[];
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
  const launch: LaunchOptions = { executablePath: CHROMIUM, headless: true, args };
  return chromium.launch(launch);
}
