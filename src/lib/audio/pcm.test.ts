import { expect } from '@open-wc/testing';
import { AUDIO_HEADER_BYTES, AudioKind, decodeAudioFrame, encodeAudioFrame } from '../../../protocol/audio.ts';
import { Downsampler, FRAME_SAMPLES, FrameChunker, floatToS16, s16ToLeBytes, s16leToFloat } from './pcm.ts';

describe('push-to-talk audio steps', () => {
  it('cuts 20 ms frames of 320 samples (640 bytes) at 16 kHz', () => {
    expect(FRAME_SAMPLES).to.equal(320);
    const c = new FrameChunker();
    expect(c.push(new Int16Array(300))).to.have.length(0);
    const frames = c.push(new Int16Array(400));
    expect(frames).to.have.length(2);
    expect(frames[0]!.length).to.equal(320);
    expect(s16ToLeBytes(frames[0]!).byteLength).to.equal(640);
  });

  it('downsamples 48 kHz to 16 kHz across chunk boundaries without losing samples', () => {
    const d = new Downsampler(48000);
    let total = 0;
    for (let i = 0; i < 10; i++) total += d.push(new Float32Array(128).fill(0.5)).length;
    expect(total).to.be.within(426, 427); // 1280 / 3
  });

  it('keeps a 440 Hz tone at 440 Hz when downsampling 44.1 kHz', () => {
    const d = new Downsampler(44100);
    const input = Float32Array.from({ length: 44100 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 44100));
    const out = d.push(input);
    let crossings = 0;
    for (let i = 1; i < out.length; i++) if (out[i - 1]! < 0 && out[i]! >= 0) crossings++;
    expect(out.length).to.be.closeTo(16000, 1);
    expect(crossings).to.be.closeTo(440, 2);
  });

  it('converts float to s16 little-endian and back, clipping out-of-range samples', () => {
    const s = floatToS16(Float32Array.from([0, 1, -1, 2, 0.5]));
    expect([...s]).to.deep.equal([0, 32767, -32768, 32767, 16384]);
    const back = s16leToFloat(s16ToLeBytes(s));
    expect(back[4]).to.be.closeTo(0.5, 1e-3);
  });

  it('frames talk audio with the protocol header the bridge expects', () => {
    const pcm = s16ToLeBytes(new Int16Array(320));
    const frame = encodeAudioFrame(AudioKind.talk, 7, pcm);
    expect(frame.byteLength).to.equal(AUDIO_HEADER_BYTES + 640);
    const decoded = decodeAudioFrame(frame);
    expect(decoded.ok && decoded.value.kind).to.equal(AudioKind.talk);
    expect(decoded.ok && decoded.value.seq).to.equal(7);
  });
});
