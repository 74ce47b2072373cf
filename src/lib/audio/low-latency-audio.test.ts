import { expect } from '@open-wc/testing';
import { statRows } from '../video/stats.ts';
import { describePlayout, playoutSupport } from './low-latency-audio.ts';

const summary = { bitrateKbps: null, fps: null, width: null, height: null, packetLossPct: null, jitterBufferMs: null, audioLevel: null };
const app = { glassMs: null, commandRttMs: null, linkRttMs: null, width: null, height: null, videoKind: 'webrtc' as const };

describe('the robot voice playout, as the stats panel shows it', () => {
  it('names the playout in use and the share of audio the fixed buffer dropped or filled', () => {
    expect(describePlayout('neteq', null)).to.equal('browser (NetEq)');
    expect(describePlayout(null, null)).to.equal(null);
    expect(describePlayout('low-latency', null)).to.equal('fixed 30 ms');
    // 200 frames of 480 samples: 2 late frames (960 samples) + 480 cut + 960 of silence = 2.5 % of the audio.
    const stats = { frames: 200, late: 2, trimmedSamples: 480, concealedSamples: 960, underruns: 1, reanchors: 0, depthSamples: 1400, targetSamples: 1440 };
    expect(describePlayout('low-latency', stats)).to.equal('fixed 30 ms · 2.5 % dropped or filled');
  });

  it('is a row of the stats panel only when there is one', () => {
    const rows = statRows(summary, { ...app, audioPlayout: 'browser (NetEq)' });
    expect(rows.find((r) => r.key === 'playout')).to.deep.equal({ key: 'playout', label: 'audio playout', value: 'browser (NetEq)' });
    expect(statRows(summary, app).some((r) => r.key === 'playout')).to.equal(false);
  });

  it('is offered by this Chromium (encoded transform, Opus in WebCodecs, AudioWorklet)', async () => {
    expect(await playoutSupport()).to.equal(true);
  });
});
