// Runs the language-neutral vectors (protocol/vectors/serial.json) against the TypeScript codec;
// the firmware runs the same file against its C++ codec.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  LineSplitter, SERIAL_MAX_LINE, SERIAL_PROTOCOL_VERSION, decodeSerial, encodeSerial, fromPwm, toPwm,
  type SerialFrame,
} from './serial.ts';

interface Vectors {
  protocol: number;
  maxLine: number;
  encode: { name: string; frame: SerialFrame; line: string }[];
  decode: { name: string; line: string; frame?: SerialFrame; error?: number; seq?: number }[];
  split: { name: string; chunks: string[]; lines: string[] }[];
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/serial.json', import.meta.url), 'utf8')) as Vectors;

describe('serial vectors', () => {
  it('describe the protocol version and line limit this codec implements', () => {
    assert.equal(vectors.protocol, SERIAL_PROTOCOL_VERSION);
    assert.equal(vectors.maxLine, SERIAL_MAX_LINE);
  });
  describe('encode', () => {
    for (const v of vectors.encode) it(`encodes ${v.name}`, () => assert.equal(encodeSerial(v.frame), v.line));
  });
  describe('decode', () => {
    for (const v of vectors.decode) {
      it(`decodes ${v.name}`, () => {
        const got = decodeSerial(v.line);
        if (v.frame) {
          assert.deepEqual(got, { ok: true, frame: v.frame });
        } else {
          assert.equal(got.ok, false, `expected error ${v.error}`);
          if (got.ok) return;
          assert.equal(got.code, v.error);
          assert.equal(got.seq, v.seq);
        }
      });
    }
  });
  describe('split', () => {
    for (const v of vectors.split) {
      it(`splits: ${v.name}`, () => {
        const s = new LineSplitter();
        assert.deepEqual(v.chunks.flatMap((c) => s.push(c)), v.lines);
      });
    }
  });
});

const hostFrame = fc.oneof(
  fc.record({ type: fc.constant('M' as const), seq: fc.integer({ min: 0, max: 65535 }), left: fc.integer({ min: -255, max: 255 }), right: fc.integer({ min: -255, max: 255 }) }),
  fc.record({ type: fc.constantFrom('S' as const, 'Q' as const), seq: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ type: fc.constant('T' as const), left: fc.integer({ min: -255, max: 255 }), right: fc.integer({ min: -255, max: 255 }), mv: fc.integer({ min: 0, max: 65535 }), flags: fc.integer({ min: 0, max: 255 }) }),
);

describe('serial codec properties', () => {
  it('round-trips every valid frame through any chunking of the byte stream', () => {
    fc.assert(fc.property(fc.array(hostFrame, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }), (frames, cuts) => {
      frames = frames.map((f) => ({ ...f }));
      const stream = frames.map((f) => encodeSerial(f as SerialFrame)).join('');
      const s = new LineSplitter();
      const lines: string[] = [];
      for (let i = 0, k = 0; i < stream.length; k++) {
        const n = cuts[k % cuts.length]!;
        lines.push(...s.push(stream.slice(i, i + n)));
        i += n;
      }
      assert.deepEqual(lines.map((l) => decodeSerial(l)), frames.map((frame) => ({ ok: true, frame })));
    }));
  });
  it('never decodes a line with one byte flipped into a different frame', () => {
    fc.assert(fc.property(hostFrame, fc.nat(), fc.integer({ min: 1, max: 255 }), (frame, at, xor) => {
      const line = encodeSerial(frame as SerialFrame).slice(0, -1);
      const i = at % line.length;
      const flipped = line.slice(0, i) + String.fromCharCode(line.charCodeAt(i) ^ xor) + line.slice(i + 1);
      const got = decodeSerial(flipped);
      // A single flipped byte always changes the XOR, so the line is rejected (or, if the flip hit
      // the checksum digits' case, still the same frame).
      if (got.ok) assert.deepEqual(got.frame, { ...frame });
    }));
  });
  it('rejects random bytes without throwing', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 80 }), (junk) => {
      const got = decodeSerial(junk);
      if (!got.ok) assert.ok([1, 2, 3, 4, 5].includes(got.code));
      const lines = new LineSplitter().push(junk + '\n');
      for (const l of lines) assert.ok(l.length <= SERIAL_MAX_LINE + 2);
    }));
  });
  it('maps track speed to PWM, clamping and treating non-numbers as stop', () => {
    assert.equal(toPwm(1), 255);
    assert.equal(toPwm(-2), -255);
    assert.equal(toPwm(0.5), 128);
    assert.equal(toPwm(Number.NaN), 0);
    assert.equal(toPwm(Number.POSITIVE_INFINITY), 0);
    assert.equal(fromPwm(-255), -1);
  });
});
