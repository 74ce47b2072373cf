import { expect } from '@open-wc/testing';
import { liveEdgeJump, MAX_BEHIND_TARGET_S } from './live-edge.ts';

const at = { latency: 0.6, targetLatency: 0.5, syncPosition: 20, currentTime: 19.9, paused: false };

describe('liveEdgeJump', () => {
  it('leaves a player near its target alone', () => {
    expect(liveEdgeJump(at)).to.equal(null);
    expect(liveEdgeJump({ ...at, latency: 0.5 + MAX_BEHIND_TARGET_S })).to.equal(null);
  });

  it('jumps to the live sync position once the player is more than the margin behind its target', () => {
    expect(liveEdgeJump({ ...at, latency: 2.4, currentTime: 18 })).to.equal(20);
  });

  it('never jumps backwards, while paused, or before hls.js knows the playlist', () => {
    expect(liveEdgeJump({ ...at, latency: 2.4, currentTime: 20.5 })).to.equal(null);
    expect(liveEdgeJump({ ...at, latency: 2.4, currentTime: 18, paused: true })).to.equal(null);
    expect(liveEdgeJump({ ...at, latency: 2.4, currentTime: 18, targetLatency: null })).to.equal(null);
    expect(liveEdgeJump({ ...at, latency: 2.4, currentTime: 18, syncPosition: null })).to.equal(null);
  });
});
