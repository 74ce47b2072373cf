// The recording frames of protocol/relay.ts: `record` (app → relay) and `recording` (relay → app
// and robot) pass the validators every edge uses, and malformed ones are refused naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRobotMessage } from './messages.ts';
import { parseClientToRelay, parseRelayToClient, parseRelayToRobot, parseRobotToRelay } from './relay.ts';

const ON = { v: 1, type: 'recording', robot: 'sim', available: true, active: true, since: 1_765_000_000_000, by: 'Ana' };

test('record start/stop is accepted from an app; any other action or an extra field is refused', () => {
  for (const action of ['start', 'stop']) assert.deepEqual(parseClientToRelay(JSON.stringify({ v: 1, type: 'record', action })), { ok: true, value: { v: 1, type: 'record', action } });
  const bad = parseClientToRelay({ v: 1, type: 'record', action: 'pause' });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.field, 'action');
  assert.equal(parseClientToRelay({ v: 1, type: 'record', action: 'start', robot: 'other' }).ok, false, 'the robot is the session\'s, never the frame\'s');
  assert.equal(parseClientToRelay({ v: 1, type: 'refresh' }).ok, true, 'refresh still passes');
  assert.equal(parseClientToRelay({ v: 1, type: 'drive', seq: 1, left: 0, right: 0, ttl: 100, t: 1 }).ok, true, 'ClientMessages still pass');
});

test('the recording state passes to apps and robots; stops name a known reason', () => {
  for (const parse of [parseRelayToClient, parseRelayToRobot]) {
    assert.equal(parse(ON).ok, true);
    assert.equal(parse({ ...ON, active: false, since: null, by: null, stopped: 'disk_low' }).ok, true);
    assert.equal(parse({ ...ON, available: false, active: false, since: null, by: null }).ok, true);
    for (const [field, value] of [['stopped', 'bored'], ['active', 'yes'], ['since', -1], ['by', ''], ['robot', 'a/b']] as const) {
      const r = parse({ ...ON, [field]: value });
      assert.equal(r.ok, false, `${field}: ${String(value)}`);
      assert.equal(!r.ok && r.field, field);
    }
  }
});

test('the bridge passes the same frame to its local apps; the relay refuses it from a robot', () => {
  assert.deepEqual(parseRobotMessage(JSON.stringify(ON)), { ok: true, value: ON });
  for (const frame of [ON, { v: 1, type: 'to', client: 'c-1', msg: ON }]) {
    const r = parseRobotToRelay(JSON.stringify(frame));
    assert.equal(r.ok, false, `the relay alone says whether it records: ${frame.type}`);
    assert.equal(!r.ok && r.field, frame.type === 'to' ? 'msg' : 'type');
  }
});
