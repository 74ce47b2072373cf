import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RtpTimeline } from './rtp-timeline.ts';

function rtp(seq: number, ts: number, ssrc: number, payload = 'x'): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = 97;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b.write(payload, 12);
  return b;
}
const head = (b: Buffer) => ({ seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), ssrc: b.readUInt32BE(8), payload: b.subarray(12).toString() });

/** A clock the test moves, and a timeline on it; `out` collects what is forwarded. */
function setup(clockRate: number, dropBacklog = false) {
  let t = 1000;
  const tl = new RtpTimeline({ clockRate, dropBacklog, now: () => t });
  const out: Buffer[] = [];
  return { tl, out, at: (ms: number) => { t = ms; }, push: (b: Buffer) => { const p = tl.push(b); if (p) out.push(p); return p; } };
}

describe('RtpTimeline', () => {
  it('video (stamped on capture): the first packet, the keyframe, goes at once, and nothing is changed', () => {
    const s = setup(90000);
    s.at(1000);
    assert.ok(s.push(rtp(500, 7000, 0xabc)), 'forwarded at once');
    for (let f = 1; f < 5; f++) for (let p = 0; p < 3; p++) { s.at(1000 + f * 33.3 + p * 0.2); s.push(rtp(500 + f * 3 + p, 7000 + f * 3000, 0xabc)); }
    assert.equal(s.out.length, 13);
    assert.deepEqual(head(s.out[1]!), { seq: 503, ts: 10000, ssrc: 0xabc, payload: 'x' });
    assert.equal(s.tl.dropped, 0);
  });

  it('audio: a paced stream starts after two paced steps, with its own timestamps', () => {
    const s = setup(48000, true);
    for (let i = 0; i < 10; i++) { s.at(1000 + i * 20); s.push(rtp(500 + i, 7000 + i * 960, 0xabc)); }
    assert.deepEqual(s.out.map((b) => head(b).seq), [502, 503, 504, 505, 506, 507, 508, 509]);
    assert.equal(head(s.out[0]!).ts, 7000 + 2 * 960);
    assert.equal(s.tl.dropped, 2);
  });

  it('audio: the startup burst measured here (15 packets in 2 ms, then jittery) is dropped; the first packet forwarded is as fresh as any', () => {
    // [arrival ms, arrival minus timestamp ms] of the publisher's first Opus packets (a stack run on this machine).
    const trace = [[0, 0], [0, -20], [0, -40], [0, -60], [0, -80], [0, -100], [0, -120], [0, -140], [0, -160], [1, -179], [1, -199], [1, -219],
      [1, -239], [2, -258], [2, -278], [14, -286], [52, -268], [69, -271], [82, -278], [93, -287], [113, -287], [133, -287], [153, -287],
      [174, -286], [196, -284], [237, -263], [242, -278], [250, -290], [280, -280], [299, -281], [319, -281], [340, -280]] as const;
    const s = setup(48000, true);
    const forwarded: number[] = [];
    trace.forEach(([at, age], i) => {
      s.at(1000 + at);
      if (s.push(rtp(i, Math.round((at - age) * 48), 7))) forwarded.push(age);
    });
    assert.ok(forwarded.length > 0, 'the stream starts');
    const freshest = Math.min(...trace.map(([, a]) => a));
    assert.ok(forwarded[0]! - freshest <= 5, `first forwarded packet is ${forwarded[0]! - freshest} ms older than the freshest`);
    assert.ok(s.tl.dropped >= 15, 'the whole burst is dropped');
  });

  it('a restarted encoder (new SSRC) continues the first one: same SSRC, next sequence number, timestamps by the wall clock', () => {
    const s = setup(90000);
    for (let f = 0; f < 5; f++) { s.at(1000 + f * 33); s.push(rtp(100 + f, 1_000_000 + f * 3000, 0x1111)); }
    const last = head(s.out.at(-1)!);
    const n = s.out.length;
    // 500 ms later a new encoder with its own random sequence and timestamp origin.
    for (let f = 0; f < 5; f++) { s.at(1000 + 4 * 33 + 500 + f * 33); s.push(rtp(60000 + f, 42 + f * 3000, 0x2222, 'new')); }
    const next = s.out.slice(n).map(head);
    assert.equal(next.length, 5);
    assert.ok(next.every((h) => h.ssrc === 0x1111 && h.payload === 'new'));
    assert.deepEqual(next.map((h) => h.seq), [105, 106, 107, 108, 109]);
    assert.equal(next[0]!.ts - last.ts, 500 * 90, 'the gap in timestamps is the gap in time');
    assert.deepEqual(next.map((h) => h.ts - next[0]!.ts), [0, 3000, 6000, 9000, 12000]);
    assert.equal(s.tl.epochs, 2);
  });

  it('a newer encoder takes over from one still running: from its first packet on, the older one\'s are dropped, never interleaved', () => {
    const s = setup(90000);
    // The old encoder and, from 1066 ms, a new one beside it (an uplink step: make before break).
    for (let f = 0; f < 3; f++) { s.at(1000 + f * 33); s.push(rtp(100 + f, 1_000_000 + f * 3000, 0x1111, 'old')); }
    s.at(1070); s.push(rtp(7, 5_000, 0x2222, 'new'));
    s.at(1099); assert.equal(s.push(rtp(103, 1_000_000 + 3 * 3000, 0x1111, 'old')), null, 'the old one\'s frame after the takeover');
    s.at(1103); s.push(rtp(8, 5_000 + 3000, 0x2222, 'new'));
    s.at(1132); assert.equal(s.push(rtp(104, 1_000_000 + 4 * 3000, 0x1111, 'old')), null);
    const h = s.out.map(head);
    assert.deepEqual(h.map((x) => x.payload), ['old', 'old', 'old', 'new', 'new']);
    assert.deepEqual(h.map((x) => x.seq), [100, 101, 102, 103, 104], 'one sequence, no gap, no repeat');
    assert.ok(h.every((x) => x.ssrc === 0x1111));
    assert.equal(s.tl.epochs, 2);
    assert.equal(s.tl.superseded, 2);
  });

  it('timestamps and sequence numbers wrap like RTP does', () => {
    const s = setup(48000);
    for (let i = 0; i < 4; i++) { s.at(1000 + i * 20); s.push(rtp(0xfffe + i, 0xfffffc40 + i * 960, 5)); }
    assert.deepEqual(s.out.map((b) => head(b).seq), [0xfffe, 0xffff, 0, 1]);
    assert.equal(head(s.out[2]!).ts, (0xfffffc40 + 2 * 960) >>> 0);
    const r = setup(90000);
    for (let f = 0; f < 2; f++) { r.at(1000 + f * 33); r.push(rtp(0xffff, 0xfffff000 + f * 3000, 1)); }
    r.at(1200);
    r.push(rtp(9, 5, 2));
    assert.equal(head(r.out[2]!).ts, (0xfffff000 + 3000 + Math.round(0.167 * 90000)) >>> 0, 'a restart across the wrap continues');
    assert.equal(head(r.out[2]!).seq, 0);
  });

  it('audio that never looks paced still starts, after the longest wait', () => {
    const s = setup(48000, true);
    // Pairs every 40 ms: each second packet arrives 20 ms early.
    for (let i = 0; i < 40; i++) { s.at(1000 + Math.floor(i / 2) * 40); s.push(rtp(i, i * 960, 3)); }
    assert.ok(s.out.length > 0 && s.out.length < 40);
  });

  it('drops what is not RTP version 2', () => {
    const s = setup(90000);
    s.push(Buffer.from('short'));
    const v1 = rtp(1, 1, 1);
    v1[0] = 0x40;
    s.push(v1);
    assert.equal(s.out.length, 0);
    assert.equal(s.tl.dropped, 2);
  });
});
