// Every message type round-trips through JSON and its validator; every malformed shape is refused
// with the field named, and nothing malformed ever comes back as a message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_TEXT_FRAME_BYTES, MAX_TTS_CHARS, PROTOCOL_VERSION } from './limits.ts';
import {
  CLIENT_MESSAGE_TYPES, ROBOT_MESSAGE_TYPES, directionToTracks, errorCodeFor, msg, parseClientMessage,
  parseRobotMessage, utf8Length, type ClientMessage, type RobotMessage,
} from './messages.ts';

const client: Record<ClientMessage['type'], ClientMessage[]> = {
  drive: [{ v: 1, type: 'drive', seq: 1, left: -1, right: 1, ttl: 300, t: 1700000000000 }, { v: 1, type: 'drive', seq: 0, left: 0, right: 0.25, ttl: 1, t: 0 }],
  motor: [{ v: 1, type: 'motor', seq: 9, direction: 'forward', speed: 255, ttl: 300, t: 5 }, { v: 1, type: 'motor', seq: 10, direction: 'stop', speed: 0, ttl: 1000, t: 5 }],
  stop: [{ v: 1, type: 'stop' }, { v: 1, type: 'stop', seq: 4, t: 12 }],
  heartbeat: [{ v: 1, type: 'heartbeat', t: 123.5 }],
  lease: [{ v: 1, type: 'lease', action: 'take' }, { v: 1, type: 'lease', action: 'release' }, { v: 1, type: 'lease', action: 'request' }],
  tts: [{ v: 1, type: 'tts', id: 'a-1', text: 'Bună ziua' }, { v: 1, type: 'tts', id: 'x', text: 'a'.repeat(MAX_TTS_CHARS) }],
  talk: [{ v: 1, type: 'talk', action: 'start' }, { v: 1, type: 'talk', action: 'stop' }],
  hello: [{ v: 1, type: 'hello' }, { v: 1, type: 'hello', name: 'Ana', want: 'driver' }, { v: 1, type: 'hello', want: 'viewer' }],
};
const robot: Record<RobotMessage['type'], RobotMessage[]> = {
  welcome: [{
    v: 1, type: 'welcome', session: 's-1', robot: 'Havatar', driver: null,
    audio: { format: 'pcm_s16le', rate: 16000, channels: 1, frameMs: 20 },
    limits: { deadmanMs: 250, maxTtlMs: 1000, sendIntervalMs: 50 }, serverTime: 1700000000000,
  }],
  ack: [{ v: 1, type: 'ack', seq: 3, t: 9, result: 'applied' }, { v: 1, type: 'ack', seq: 4, t: 9, result: 'refused', reason: 'not the driver' }],
  heartbeat_ack: [{ v: 1, type: 'heartbeat_ack', t: 1 }],
  telemetry: [
    { v: 1, type: 'telemetry', battery: { voltage: 7.4, percentage: 55 }, motors: { left: 0.5, right: -0.5 }, serial: true, ts: 1 },
    { v: 1, type: 'telemetry', battery: { voltage: 0, percentage: 0 }, motors: { left: 0, right: 0 }, serial: false, pose: { x: 1, y: -2, heading: 3.1 }, ts: 2 },
    { v: 1, type: 'telemetry', battery: { voltage: 7, percentage: 40 }, motors: { left: 0, right: 0 }, serial: true, video: { step: 2, of: 6, name: 'bitrate 35 %', reason: 'uplink congested: 612 ms of video waiting to leave' }, ts: 3 },
  ],
  lease: [{ v: 1, type: 'lease', driver: 's-1', driverName: 'Ana', you: true }, { v: 1, type: 'lease', driver: null, driverName: null, you: false, requestedBy: 's-2' }],
  stopped: [{ v: 1, type: 'stopped', reason: 'deadman', at: 5 }, { v: 1, type: 'stopped', reason: 'command', by: 's-1', at: 5 }],
  tts_result: [{ v: 1, type: 'tts_result', id: 'a-1', ok: true }, { v: 1, type: 'tts_result', id: 'a-1', ok: false, error: 'espeak-ng missing' }],
  talk_state: [{ v: 1, type: 'talk_state', speaker: 'playing', by: 's-1' }, { v: 1, type: 'talk_state', speaker: 'idle', by: null }],
  error: [
    { v: 1, type: 'error', code: 'bad_message', message: 'left must be between -1 and 1', field: 'left', ref: '12' },
    { v: 1, type: 'error', code: 'internal', message: 'oops' },
  ],
  recording: [
    { v: 1, type: 'recording', robot: 'sim', available: true, active: true, since: 1_765_000_000_000, by: 'Ana' },
    { v: 1, type: 'recording', robot: 'sim', available: false, active: false, since: null, by: null, stopped: 'lost' },
  ],
};

/** One wrong value per field (and a few per type) that the validator must refuse. */
const wrongValues: unknown[] = [null, 'x', true, [], {}, Number.NaN, Number.POSITIVE_INFINITY, -1e300, 1e300, 1.5, -0.5];

function cases<T extends { type: string }>(samples: Record<string, T[]>) {
  return Object.entries(samples).flatMap(([type, list]) => list.map((m, i) => ({ type, i, m })));
}

function checkSide(side: string, samples: Record<string, (ClientMessage | RobotMessage)[]>, types: string[], parse: (x: unknown) => { ok: boolean; error?: string; field?: string }) {
  describe(`${side} messages`, () => {
    it('has a sample for every message type', () => assert.deepEqual(Object.keys(samples).sort(), [...types].sort()));

    for (const { type, i, m } of cases(samples)) {
      it(`round-trips ${type} #${i} as a string and as a value`, () => {
        assert.deepEqual(parse(JSON.stringify(m)), { ok: true, value: m });
        assert.deepEqual(parse(structuredClone(m)), { ok: true, value: m });
      });
    }

    for (const [type, list] of Object.entries(samples)) {
      const m = list[list.length - 1]! as unknown as Record<string, unknown>;
      it(`${type}: refuses each missing required field, naming it`, () => {
        for (const key of Object.keys(list[0]!)) {
          const copy = { ...m };
          delete copy[key];
          const got = parse(copy);
          if (got.ok) {
            // Only fields that some sample of this type leaves out may be optional.
            assert.ok(list.some((s) => !(key in s)), `${type} accepted without ${key}`);
          } else if (key !== 'v' && key !== 'type') {
            assert.equal(got.field, key);
          }
        }
      });
      it(`${type}: refuses an extra field`, () => {
        const got = parse({ ...m, sneaky: 1 });
        assert.equal(got.ok, false);
        assert.equal(got.field, 'sneaky');
      });
      it(`${type}: refuses wrong types, NaN, Infinity and out-of-range values in every field`, () => {
        for (const key of Object.keys(m)) {
          if (key === 'v') continue;
          for (const bad of wrongValues) {
            const copy = { ...m, [key]: bad };
            const got = parse(copy);
            // A wrong value may happen to be valid for a field (1.5 as a clock); then it must survive intact.
            if (got.ok) assert.deepEqual((got as unknown as { value: unknown }).value, copy, `${type}.${key} = ${String(bad)}`);
            else assert.ok(got.field === key || key === 'type', `${type}.${key} = ${String(bad)} blamed ${got.field}`);
          }
        }
      });
      it(`${type}: refuses other protocol versions`, () => {
        for (const v of [0, 2, '1', null, undefined]) {
          const got = parse({ ...m, v });
          assert.equal(got.ok, false);
          assert.equal(got.field, 'v');
          assert.equal(errorCodeFor(got.error!, got.field), 'unsupported_version');
        }
      });
    }

    it('refuses unknown types, non-objects and invalid JSON', () => {
      for (const input of ['[]', 'null', '42', '"drive"', 'true', [], null, 42, undefined]) {
        const got = parse(input);
        assert.equal(got.ok, false, JSON.stringify(input));
        assert.equal(got.error, 'message must be a JSON object');
      }
      for (const text of ['{', '{"v":1,', "{'v':1}", '', 'NaN', '{"v":1,"type":"heartbeat","t":NaN}']) {
        const got = parse(text);
        assert.equal(got.ok, false);
        assert.equal(errorCodeFor(got.error!, got.field), 'bad_json', text);
      }
      for (const type of ['nope', '', 42, null, '__proto__', 'constructor', 'toString']) {
        const got = parse({ v: PROTOCOL_VERSION, type });
        assert.equal(got.ok, false);
        assert.equal(got.field, 'type');
      }
    });

    it('refuses fields named like Object.prototype members (__proto__, constructor, toString)', () => {
      const type = types[0]!;
      const valid = JSON.stringify(samples[type]![0]);
      for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        const got = parse(`${valid.slice(0, -1)},${JSON.stringify(key)}:{"x":1}}`);
        assert.equal(got.ok, false, key);
        assert.equal(got.field, key);
      }
    });

    it('refuses a frame larger than the limit, counted in UTF-8 bytes', () => {
      const base = samples[types[0]!]![0]!;
      const pad = (n: number, ch: string) => JSON.stringify({ ...base, pad: ch.repeat(n) });
      const overhead = utf8Length(pad(0, 'a'));
      const big = pad(MAX_TEXT_FRAME_BYTES - overhead + 1, 'a');
      assert.equal(utf8Length(big), MAX_TEXT_FRAME_BYTES + 1);
      assert.equal(errorCodeFor(parse(big).error!), 'too_large');
      // 'ă' is two bytes: a string under the limit in characters but over it in bytes.
      const wide = pad(Math.ceil((MAX_TEXT_FRAME_BYTES - overhead) / 2) + 1, 'ă');
      assert.ok(wide.length < MAX_TEXT_FRAME_BYTES);
      assert.equal(errorCodeFor(parse(wide).error!), 'too_large');
      // At the limit it is judged on content (here: the unknown field), not size.
      assert.equal(parse(pad(MAX_TEXT_FRAME_BYTES - overhead, 'a')).field, 'pad');
    });

    it('never accepts random JSON values or strings', () => {
      fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.string()), (x) => {
        const got = parse(x);
        if (got.ok) assert.ok(types.includes((x as { type: string }).type));
      }), { numRuns: 500 });
    });
  });
}

checkSide('client', client, CLIENT_MESSAGE_TYPES, parseClientMessage);
checkSide('robot', robot, ROBOT_MESSAGE_TYPES, parseRobotMessage);

describe('telemetry video note', () => {
  const base = robot.telemetry[2] as Extract<RobotMessage, { type: 'telemetry' }>;
  it('refuses a step at or past the ladder\'s end, step 0 (full quality has no note), a missing reason', () => {
    for (const video of [{ ...base.video, step: 6 }, { ...base.video, step: 0 }, { step: 1, of: 6, name: 'x' }, { ...base.video, reason: 'r'.repeat(201) }, 'slow']) {
      const got = parseRobotMessage({ ...base, video });
      assert.equal(got.ok, false, JSON.stringify(video));
      assert.equal(got.field, 'video');
    }
  });
});

describe('message helpers', () => {
  it('msg() fills in the protocol version', () => {
    assert.deepEqual(msg<ClientMessage>({ type: 'heartbeat', t: 1 } as Omit<ClientMessage, 'v'>), { v: 1, type: 'heartbeat', t: 1 });
  });
  it('a client message is not a robot message and vice versa', () => {
    assert.equal(parseRobotMessage(client.drive[0]).ok, false);
    assert.equal(parseClientMessage(robot.telemetry[0]).ok, false);
  });
  it('maps v1 direction commands to track speeds, clamping speed', () => {
    assert.deepEqual(directionToTracks('forward', 255), { left: 1, right: 1 });
    assert.deepEqual(directionToTracks('backward', 255), { left: -1, right: -1 });
    assert.deepEqual(directionToTracks('left', 510), { left: -1, right: 1 });
    assert.deepEqual(directionToTracks('right', -5), { left: 0, right: -0 });
    assert.deepEqual(directionToTracks('stop', 200), { left: 0, right: 0 });
  });
  it('measures UTF-8 length as the wire does', () => {
    for (const s of ['', 'abc', 'ă', '€', '😀', 'a😀ă', '\u{10FFFF}']) assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'), s);
  });
});
