// What an operator does with the app in the end-to-end tests: push the joystick forward, hold the
// talk button, and speak through Chromium's fake microphone (a steady tone file).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { RecordingSpeaker, type Recording } from '../bridge/sim/audio.ts';
import { waitFor } from '../common/wait.ts';

/** Presses the joystick's centre and drags it most of the way up (straight ahead); stays pressed. */
export async function pushStick(page: Page): Promise<void> {
  const box = (await page.locator('hv-joystick').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  await page.mouse.move(cx, cy - box.height * 0.45, { steps: 4 });
}

/** Presses and keeps holding the talk button (release with `page.mouse.up()`). */
export async function holdTalk(page: Page): Promise<void> {
  const box = (await page.locator('hv-talk-button button').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
}

/**
 * Holds talk for a second and waits until the simulated robot's speaker (its recordings in
 * `speakerDir`) has played it; returns the recordings made meanwhile. The driver must hold control.
 */
export async function talkToRobot(page: Page, speakerDir: string, timeoutMs = 8000): Promise<Recording[]> {
  const speaker = new RecordingSpeaker(speakerDir);
  const before = speaker.recordings().length;
  await holdTalk(page);
  await page.locator('hv-drive-view [data-speaker="playing"]').waitFor({ timeout: timeoutMs });
  await page.waitForTimeout(1000); // the stimulus: one second of talk
  await page.mouse.up();
  return waitFor('the talk recorded on the robot speaker', () => speaker.recordings().slice(before),
    (r) => r.some((x) => x.durationMs >= 500 && x.rms > 0.01), timeoutMs);
}

/**
 * A steady sine as the operator's voice, for `--use-file-for-fake-audio-capture`: Chromium's
 * default fake microphone only beeps, which a recording check could miss.
 */
export function toneFile(dir: string, frequency: number, seconds: number): string {
  const file = join(dir, `operator-tone-${frequency}.wav`);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=48000`, '-t', String(seconds), '-ac', '1', file]);
  return file;
}
