// Real Chromium (Debian's /usr/bin/chromium, never a downloaded build) for end-to-end tests and
// benchmarks, through playwright-core.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
  /** Run Chromium in this network namespace (`ip netns exec`, root only): a phone on a test LAN. */
  netns?: string;
  /**
   * A HOME whose NSS database holds the certificates Chromium trusts (nssHome): certificates are
   * then checked as a phone checks them, without --ignore-certificate-errors.
   */
  home?: string;
}

const wrappers = new Map<string, string>();

/**
 * A wrapper that execs Chromium at a niceness and in a network namespace (playwright-core launches
 * an executable path, and talks to it over a pipe, which no namespace gets in the way of); one per
 * combination per process.
 */
function wrappedChromium(nice: number, netns: string | undefined): string {
  const key = `${nice}/${netns ?? ''}`;
  const made = wrappers.get(key);
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'havatar-chromium-'));
  const file = join(dir, 'chromium');
  const inNetns = netns ? `ip netns exec ${JSON.stringify(netns)} ` : '';
  writeFileSync(file, `#!/bin/sh\nexec nice -n ${nice} ${inNetns}${JSON.stringify(CHROMIUM)} "$@"\n`);
  chmodSync(file, 0o755);
  wrappers.set(key, file);
  return file;
}

/**
 * A HOME (made under `parent`) with a fresh NSS database, as a new Chromium profile on Linux has,
 * and `ca` trusted in it when given: a user trusting the robot's CA (Debian's certutil).
 */
export function nssHome(parent: string, ca: Buffer | null): string {
  const home = mkdtempSync(join(parent, 'home-'));
  const db = `sql:${join(home, '.pki/nssdb')}`;
  mkdirSync(join(home, '.pki/nssdb'), { recursive: true });
  execFileSync('certutil', ['-d', db, '-N', '--empty-password']);
  if (ca) {
    writeFileSync(join(home, 'havatar-robot-ca.crt'), ca);
    execFileSync('certutil', ['-d', db, '-A', '-n', 'havatar-robot', '-t', 'C,,', '-i', join(home, 'havatar-robot-ca.crt')]);
  }
  return home;
}

export function launchChromium(opts: BrowserOptions = {}): Promise<Browser> {
  const args = [
    '--no-sandbox',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    ...(opts.home ? [] : ['--ignore-certificate-errors']),
    ...(opts.fakeAudioFile ? [`--use-file-for-fake-audio-capture=${opts.fakeAudioFile}`] : []),
    ...(opts.extraArgs ?? []),
  ];
  const nice = opts.nice ?? 0;
  if (!(Number.isInteger(nice) && nice >= 0 && nice <= 19)) throw new RangeError(`nice must be 0..19, got ${nice}`);
  const launch: LaunchOptions = {
    executablePath: nice || opts.netns ? wrappedChromium(nice, opts.netns) : CHROMIUM, headless: true, args,
    ...(opts.home && { env: { ...process.env, HOME: opts.home } }),
  };
  return chromium.launch(launch);
}
