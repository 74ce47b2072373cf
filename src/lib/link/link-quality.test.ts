import { expect } from '@open-wc/testing';
import { FAIR_RTT_MS, GOOD_RTT_MS, linkQuality } from './link-quality.ts';

describe('linkQuality', () => {
  it('live: good up to 150 ms round trip, fair up to 400, poor above; unknown round trip counts as good', () => {
    expect(linkQuality('live', null)).to.equal('good');
    expect(linkQuality('live', GOOD_RTT_MS)).to.equal('good');
    expect(linkQuality('live', GOOD_RTT_MS + 1)).to.equal('fair');
    expect(linkQuality('live', FAIR_RTT_MS)).to.equal('fair');
    expect(linkQuality('live', FAIR_RTT_MS + 1)).to.equal('poor');
  });

  it('degraded is poor whatever the last round trip; no link is none', () => {
    expect(linkQuality('degraded', 20)).to.equal('poor');
    for (const s of ['idle', 'connecting', 'lost', 'closed'] as const) expect(linkQuality(s, 20)).to.equal('none');
  });
});
