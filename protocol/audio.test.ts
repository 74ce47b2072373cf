import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AUDIO_HEADER_BYTES, AudioKind, decodeAudioFrame, encodeAudioFrame } from './audio.ts';
import { AUDIO_FRAME_MS, AUDIO_SAMPLE_RATE, MAX_BINARY_FRAME_BYTES } from './limits.ts';

const ONE_FRAME_BYTES = (AUDIO_SAMPLE_RATE * AUDIO_FRAME_MS) / 1000 * 2;

describe('audio frames', () => {
  it('round-trips a 20 ms frame of each kind with its sequence number', () => {
    const pcm = new Uint8Array(ONE_FRAME_BYTES).map((_, i) => i & 0xff);
    for (const kind of [AudioKind.robotMic, AudioKind.talk]) {
      const wire = encodeAudioFrame(kind, 0xdeadbeef, pcm);
      assert.equal(wire.byteLength, AUDIO_HEADER_BYTES + 640);
      assert.deepEqual([...wire.subarray(0, 5)], [kind, 0xde, 0xad, 0xbe, 0xef]);
      const got = decodeAudioFrame(wire);
      assert.ok(got.ok);
      assert.equal(got.value.kind, kind);
      assert.equal(got.value.seq, 0xdeadbeef);
      assert.deepEqual(got.value.pcm, pcm);
    }
  });

  it('wraps the sequence number to 32 bits', () => {
    const got = decodeAudioFrame(encodeAudioFrame(AudioKind.talk, 2 ** 32 + 5, new Uint8Array(2)));
    assert.ok(got.ok);
    assert.equal(got.value.seq, 5);
  });

  it('decodes a frame that sits at an offset inside a larger buffer', () => {
    const wire = encodeAudioFrame(AudioKind.robotMic, 7, new Uint8Array([1, 2, 3, 4]));
    const host = new Uint8Array(wire.byteLength + 3);
    host.set(wire, 3);
    const got = decodeAudioFrame(host.subarray(3));
    assert.ok(got.ok);
    assert.equal(got.value.seq, 7);
    assert.deepEqual([...got.value.pcm], [1, 2, 3, 4]);
  });

  it('accepts a header-only frame (silence marker) and the largest allowed frame', () => {
    assert.ok(decodeAudioFrame(encodeAudioFrame(AudioKind.talk, 1, new Uint8Array(0))).ok);
    const max = new Uint8Array(MAX_BINARY_FRAME_BYTES - AUDIO_HEADER_BYTES - ((MAX_BINARY_FRAME_BYTES - AUDIO_HEADER_BYTES) % 2));
    assert.ok(decodeAudioFrame(encodeAudioFrame(AudioKind.talk, 1, max)).ok);
  });

  it('refuses oversized, truncated, odd-length and unknown-kind frames', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(MAX_BINARY_FRAME_BYTES + 1).fill(AudioKind.talk), /larger/],
      [new Uint8Array(0), /shorter/],
      [new Uint8Array([AudioKind.talk, 0, 0, 0]), /shorter/],
      [new Uint8Array([AudioKind.talk, 0, 0, 0, 1, 9]), /odd/],
      [new Uint8Array([0, 0, 0, 0, 1, 9, 9]), /kind/],
      [new Uint8Array([3, 0, 0, 0, 1]), /kind/],
      [new Uint8Array([255, 0, 0, 0, 1]), /kind/],
    ];
    for (const [bytes, why] of cases) {
      const got = decodeAudioFrame(bytes);
      assert.equal(got.ok, false);
      if (!got.ok) assert.match(got.error, why);
    }
  });

  it('never throws and never accepts a frame that breaks the rules, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const got = decodeAudioFrame(bytes);
      const valid = bytes.length >= AUDIO_HEADER_BYTES && (bytes[0] === 1 || bytes[0] === 2) && (bytes.length - AUDIO_HEADER_BYTES) % 2 === 0;
      assert.equal(got.ok, valid);
    }), { numRuns: 2000 });
  });
});
