// Stats panel numbers from two getStats() samples, and their formatting (unmeasured = not shown).

import { expect } from '@open-wc/testing';
import { statRows, summarize, type InboundLike } from './stats.ts';
import { validateServerMode, PASSWORD_MASK } from '../storage/server-config.ts';

const video = (t: number, bytes: number, frames: number, packets: number, lost: number, jbDelay: number, jbCount: number): InboundLike => ({
  type: 'inbound-rtp', kind: 'video', timestamp: t, bytesReceived: bytes, framesDecoded: frames, frameWidth: 1280, frameHeight: 720,
  packetsReceived: packets, packetsLost: lost, jitterBufferDelay: jbDelay, jitterBufferEmittedCount: jbCount,
});
const audio: InboundLike = { type: 'inbound-rtp', kind: 'audio', timestamp: 0, audioLevel: 0.25 };

describe('stats', () => {
  it('computes bitrate, fps, loss and jitter-buffer delay between two samples', () => {
    const a = summarize(null, [video(1000, 0, 0, 0, 0, 0, 0), audio, { type: 'candidate-pair', timestamp: 0 }]);
    expect(a.summary.bitrateKbps).to.equal(null);
    expect(a.summary.width).to.equal(1280);
    expect(a.summary.audioLevel).to.equal(0.25);
    const b = summarize(a.sample, [video(3000, 375_000, 60, 198, 2, 0.6, 60)]);
    expect(b.summary.bitrateKbps).to.equal(1500);
    expect(b.summary.fps).to.equal(30);
    expect(b.summary.packetLossPct).to.equal(1);
    expect(b.summary.jitterBufferMs).to.equal(10);
  });

  it('lists only what is measured, formatted for a person', () => {
    const rows = statRows(
      { bitrateKbps: 1500, fps: 29.97, width: null, height: null, packetLossPct: 0, jitterBufferMs: 12, audioLevel: 0.5 },
      { glassMs: 41.6, commandRttMs: null, linkRttMs: 9, width: 640, height: 480, videoKind: 'webrtc' },
    );
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r.value]));
    expect(byKey).to.deep.equal({
      video: 'WebRTC', glass: '42 ms', link: '9 ms', bitrate: '1.50 Mbit/s', fps: '30', resolution: '640×480', loss: '0.0 %', jitter: '12 ms', audio: '50 %',
    });
    const mjpeg = statRows({ bitrateKbps: null, fps: null, width: null, height: null, packetLossPct: null, jitterBufferMs: null, audioLevel: null },
      { glassMs: null, commandRttMs: 30, linkRttMs: null, width: null, height: null, videoKind: 'mjpeg' });
    expect(mjpeg.map((r) => r.key)).to.deep.equal(['video', 'command']);
  });
});

describe('robot server-mode form validation', () => {
  it('accepts a good block; an empty password keeps the stored one (the mask)', () => {
    const r = validateServerMode({ enabled: true, server_url: 'https://relay.example/', stream_key: 'sim', stream_password: '', fallback_to_local: true });
    expect(r).to.deep.equal({ ok: true, value: { enabled: true, server_url: 'https://relay.example', stream_key: 'sim', stream_password: PASSWORD_MASK, fallback_to_local: true } });
  });

  it('names each wrong field', () => {
    const r = validateServerMode({ enabled: true, server_url: '', stream_key: 'has space', stream_password: 'a b' });
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.errors.server_url).to.match(/server address/i);
    expect(r.errors.stream_key).to.match(/1-64/);
    expect(r.errors.stream_password).to.match(/spaces/);
    const bad = validateServerMode({ enabled: false, server_url: 'ftp://x', stream_key: 'ok' });
    expect(!bad.ok && bad.errors.server_url).to.match(/http:\/\/ or https:\/\//);
  });
});
