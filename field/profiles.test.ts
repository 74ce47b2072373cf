// The profiles are what the wire accepts and say what they claim: the robot's 1 Mbit/s uplink in
// bad 4G, outages on the link they name, distinct seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PROFILES, profileByName, wireProfiles } from './profiles.ts';
import { wireBinary } from './wire.ts';

test('every profile is accepted by the wire\'s own parser', () => {
  const bin = wireBinary();
  for (const p of PROFILES) {
    for (const [link, wp] of Object.entries(wireProfiles(p))) {
      const r = spawnSync(bin, ['check', '--profile', JSON.stringify(wp)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${p.name} ${link}: ${r.stderr}`);
    }
  }
});

test('the wire refuses a bad profile with the field named', () => {
  const r = spawnSync(wireBinary(), ['check', '--profile', JSON.stringify({ aToB: { lossPct: 150 } })], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /aToB: lossPct must be within 0\.\.100/);
});

test('the set the issue asks for, with distinct names and seeds', () => {
  assert.deepEqual(PROFILES.map((p) => p.name), ['wired', 'good-wifi', 'busy-wifi', '4g', 'bad-4g', 'outage-2s', 'outage-10s']);
  assert.equal(new Set(PROFILES.map((p) => p.seed)).size, PROFILES.length);
  assert.throws(() => profileByName('5g'), /unknown network profile "5g" \(known: wired, /);
});

test('bad 4G caps the robot\'s uplink at 1 Mbit/s; the uplink is the wire\'s aToB', () => {
  const { robotLink } = wireProfiles(profileByName('bad-4g'));
  assert.equal(robotLink.aToB?.rateKbps, 1000);
  assert.ok((robotLink.bToA?.rateKbps ?? 0) > 1000);
});

test('an outage goes on the link it names, or nowhere when the caller triggers it itself', () => {
  const p = profileByName('outage-10s');
  const withIt = wireProfiles(p);
  assert.deepEqual(withIt.phoneLink.outages, [{ atMs: 10_000, forMs: 10_000 }]);
  assert.deepEqual(withIt.robotLink.outages, []);
  assert.deepEqual(wireProfiles(p, { withOutage: false }).phoneLink.outages, []);
});
