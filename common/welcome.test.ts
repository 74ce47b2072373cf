import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_DEADMAN_MS } from '../protocol/limits.ts';
import { parseRobotMessage } from '../protocol/messages.ts';
import { DEFAULT_DRIVE_LIMITS, driveLimits, welcomeMsg } from './welcome.ts';

test("the welcome carries the robot's own deadman and passes the protocol's validator", () => {
  const w = welcomeMsg({ session: 's-abc', robot: 'sim', driver: null, limits: driveLimits(400), now: 1_700_000_000_000 });
  assert.equal(w.limits.deadmanMs, 400);
  assert.equal(w.serverTime, 1_700_000_000_000);
  const parsed = parseRobotMessage(JSON.stringify(w));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
});

test('the default limits are the protocol default deadman', () => {
  assert.equal(DEFAULT_DRIVE_LIMITS.deadmanMs, DEFAULT_DEADMAN_MS);
});

test('the welcome does not share its limits object with the caller', () => {
  const limits = driveLimits(300);
  const w = welcomeMsg({ session: 's', robot: 'r', driver: 's', limits });
  limits.deadmanMs = 1;
  assert.equal(w.limits.deadmanMs, 300);
});
