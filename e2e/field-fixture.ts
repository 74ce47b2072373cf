// One test file's field network (robot, server and phone namespaces joined by field/wire), the
// server-mode stack in it and the phone's Chromium: made before the file's tests, removed after.
// Tests read them from the returned object once `before` has run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { createFieldNet, fieldNetMissing, type FieldNet } from '../field/netns.ts';
import { profileByName, wireProfiles } from '../field/profiles.ts';
import { startFieldStack, type FieldStack } from '../field/stack.ts';

export interface FieldFixture { net: FieldNet; stack: FieldStack; browser: Browser }

export interface FieldFixtureOptions {
  /** A folder name prefix under the temp dir. */
  prefix: string;
  /** The network profile (field/profiles.ts). */
  profile: string;
  /** Whether the profile's scripted outage runs (false: the test takes the link down itself). */
  withOutage?: boolean;
  /** Every line of the stack's processes. */
  log: (name: string, line: string) => void;
}

/** Why the field network cannot be made here (the tests skip with it), or false. */
export const fieldSkip = (): string | false => {
  const missing = fieldNetMissing();
  return missing ? `field network: ${missing}` : false;
};

export function fieldFixture(opts: FieldFixtureOptions): FieldFixture {
  const fx = {} as FieldFixture;
  let dataDir = '';
  before(async () => {
    if (fieldSkip()) return;
    dataDir = mkdtempSync(join(tmpdir(), opts.prefix));
    fx.net = await createFieldNet(wireProfiles(profileByName(opts.profile), { withOutage: opts.withOutage }));
    fx.stack = await startFieldStack(fx.net, { dataDir, log: opts.log });
    // nice 10: the phone's page must not take the cores the robot and the links need.
    fx.browser = await launchChromium({ netns: fx.net.ns.phone, nice: 10, extraArgs: fx.stack.phoneChromiumArgs });
  });
  after(async () => {
    await fx.browser?.close();
    await fx.stack?.stop();
    await fx.net?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return fx;
}

/** The simulated ESP32's wheels as it drives them now. */
export async function wheels(stack: FieldStack): Promise<{ left: number; right: number }> {
  return (await fetch(`${stack.simControlUrl}/state`)).json() as Promise<{ left: number; right: number }>;
}
