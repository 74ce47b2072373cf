// RtspPush against a scripted RTSP server on loopback: the request sequence and headers, the
// interleaved framing of forwarded RTP, refusals and a server that goes away. Where arrival times
// matter (the audio's startup burst, the stall limit), the push runs on a fake clock (its `now`)
// and each packet is awaited until handled, so the rule is checked exactly whatever the load.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { RtspPush } from './rtsp-push.ts';
import { fakeServer } from './test/fake-rtsp-server.ts';

const tracks = [{ sdp: 'm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000' }, { sdp: 'm=audio 0 RTP/AVP 97\na=rtpmap:97 opus/48000/2' }];

describe('RtspPush', () => {
  it('announces both tracks, sets them up interleaved, records, and forwards RTP by channel', async () => {
    const srv = await fakeServer((r) => ({ status: 200, headers: r.method === 'SETUP' ? { Session: 'abc123;timeout=60' } : ({} as Record<string, string>) }));
    const push = new RtspPush({ url: `rtsp://robot:p%40ss@127.0.0.1:${srv.port}/robots/r1`, tracks });
    const ports = await push.listen();
    assert.equal(ports.length, 2);
    await push.start();
    assert.deepEqual(srv.reqs.map((r) => r.method), ['OPTIONS', 'ANNOUNCE', 'SETUP', 'SETUP', 'RECORD']);
    for (const r of srv.reqs) {
      assert.equal(r.headers.authorization, `Basic ${Buffer.from('robot:p@ss').toString('base64')}`);
      assert.ok(!r.url.includes('p%40ss') && !r.url.includes('robot@'), 'no credentials in request URLs');
    }
    assert.match(srv.reqs[1]!.body, /m=video 0 RTP\/AVP 96\r\na=rtpmap:96 H264\/90000\r\na=control:trackID=0\r\nm=audio/);
    assert.equal(srv.reqs[2]!.url, `rtsp://127.0.0.1:${srv.port}/robots/r1/trackID=0`);
    assert.match(srv.reqs[3]!.headers.transport!, /interleaved=2-3;mode=record/);
    assert.equal(srv.reqs[3]!.headers.session, 'abc123');
    assert.equal(srv.reqs[4]!.headers.session, 'abc123');

    const udp = createSocket('udp4');
    const send = (port: number, data: Buffer) => new Promise<void>((r) => udp.send(data, port, '127.0.0.1', () => r()));
    const rtp = (seq: number, ts: number, ssrc: number, size: number) => {
      const b = Buffer.alloc(size, 7);
      b[0] = 0x80;
      b.writeUInt16BE(seq, 2);
      b.writeUInt32BE(ts, 4);
      b.writeUInt32BE(ssrc, 8);
      return b;
    };
    // Three packets a track (neither is a backlog track, so both are forwarded from the first).
    for (let i = 0; i < 3; i++) {
      await send(ports[0]!.rtp, rtp(i, i * 3000, 0x71d, 9 + 12));
      await send(ports[1]!.rtcp, Buffer.from('audio-rtcp'));
      await send(ports[1]!.rtp, rtp(i, i * 960, 0xa0d, 1400));
    }
    await waitFor('6 RTP packets at the server', () => srv.frames.length, (n) => n >= 6);
    udp.close();
    assert.deepEqual(srv.frames.map((f) => [f.ch, f.data.length]).sort(), [[0, 21], [0, 21], [0, 21], [2, 1400], [2, 1400], [2, 1400]], 'RTP by channel; the encoders\' RTCP is not forwarded');
    assert.equal(srv.frames.filter((f) => f.ch === 0).map((f) => f.data.readUInt32BE(4)).join(), '0,3000,6000');
    push.close();
  });

  it('a backlog track (audio) starts only after the leading track (video) has, and never with its burst', async () => {
    let ms = 1000;
    const srv = await fakeServer(() => ({ status: 200, headers: { Session: 's3' } }));
    const push = new RtspPush({ url: `rtsp://127.0.0.1:${srv.port}/robots/r1`, tracks: [tracks[0]!, { ...tracks[1]!, dropBacklog: true }], now: () => ms });
    const ports = await push.listen();
    await push.start();
    const udp = createSocket('udp4');
    after(() => udp.close());
    const pkt = (seq: number, ts: number, ssrc: number) => { const b = Buffer.alloc(40); b[0] = 0x80; b.writeUInt16BE(seq, 2); b.writeUInt32BE(ts, 4); b.writeUInt32BE(ssrc, 8); return b; };
    const handled = () => push.stats.packets + push.stats.backlog;
    /** One packet arriving at fake time `at`: sent, and awaited until the push forwarded or dropped it. */
    const arrive = async (at: number, port: number, data: Buffer) => {
      ms = at;
      const before = handled();
      await new Promise<void>((r) => udp.send(data, port, '127.0.0.1', () => r()));
      await waitFor(`packet seq ${data.readUInt16BE(2)} handled`, handled, (n) => n > before, { everyMs: 2 });
    };
    const audio = (seq: number, at: number) => arrive(at, ports[1]!.rtp, pkt(seq, seq * 960, 2));
    // Audio first, paced (20 ms a packet): it waits for the video.
    for (let i = 0; i < 4; i++) await audio(i, 1000 + i * 20);
    assert.equal(push.stats.packets, 0, 'no audio before the video');
    await arrive(1080, ports[0]!.rtp, pkt(0, 0, 1));
    // The encoder's startup burst: ten packets (200 ms of audio) at once, then paced packets.
    for (let i = 4; i < 14; i++) await audio(i, 1080);
    for (let i = 14; i < 20; i++) await audio(i, 1080 + (i - 13) * 20);
    await waitFor('every forwarded packet at the server', () => srv.frames.length, (n) => n === push.stats.packets);
    assert.equal(srv.frames[0]!.ch, 0, 'the video leads');
    // Live at the second paced step after the burst (seq 14 is the first, 15 the second) and as
    // fresh as the burst's last packet: from seq 15 on, every packet.
    assert.deepEqual(srv.frames.filter((f) => f.ch === 2).map((f) => f.data.readUInt16BE(2)), [15, 16, 17, 18, 19]);
    assert.equal(push.stats.backlog, 4 + 11, 'four before the video, eleven of the burst and its first paced step');
    push.close();
  });

  it('kbps(track): the rate of what was forwarded to the server, per track, over the last 2 s (fake clock)', async () => {
    let ms = 2000;
    const srv = await fakeServer(() => ({ status: 200, headers: { Session: 's5' } }));
    const push = new RtspPush({ url: `rtsp://127.0.0.1:${srv.port}/robots/r1`, tracks, now: () => ms });
    const [v] = await push.listen();
    await push.start();
    const udp = createSocket('udp4');
    after(() => udp.close());
    // 1400-byte video packets every 100 ms for 2 s, each awaited at the server.
    for (let i = 0; i < 20; i++) {
      ms = 2000 + i * 100;
      const b = Buffer.alloc(1400, 9);
      b[0] = 0x80; b.writeUInt16BE(i, 2); b.writeUInt32BE(i * 9000, 4); b.writeUInt32BE(0x51, 8);
      await new Promise<void>((r) => udp.send(b, v!.rtp, '127.0.0.1', () => r()));
      await waitFor(`packet ${i} at the server`, () => srv.frames.length, (n) => n > i, { everyMs: 2 });
    }
    ms = 3999;
    const sent = srv.frames.filter((f) => f.ch === 0).reduce((n, f) => n + f.data.length, 0);
    assert.equal(sent, 20 * 1400);
    assert.ok(Math.abs(push.kbps(0) - (sent * 8) / 2000) < 0.1, `${push.kbps(0)} kbps for ${sent} bytes in 2 s`);
    assert.equal(push.kbps(1), 0, 'no audio was sent');
    ms = 6000;
    assert.equal(push.kbps(0), 0, 'nothing in the last 2 s');
    push.close();
  });

  it('a refused ANNOUNCE rejects with the status (publishError words it), and nothing is forwarded', async () => {
    const srv = await fakeServer((r) => ({ status: r.method === 'ANNOUNCE' ? 401 : 200 }));
    const push = new RtspPush({ url: `rtsp://robot:wrong@127.0.0.1:${srv.port}/robots/r1`, tracks });
    push.on('error', () => {});
    await push.listen();
    await assert.rejects(push.start(), /ANNOUNCE refused: 401/);
    assert.deepEqual(srv.reqs.map((r) => r.method), ['OPTIONS', 'ANNOUNCE']);
  });

  it('nothing listening: rejects with "Connection refused"; a server that closes mid-stream emits error', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const freePort = (probe.address() as { port: number }).port;
    probe.close();
    const refused = new RtspPush({ url: `rtsp://127.0.0.1:${freePort}/robots/r1`, tracks });
    refused.on('error', () => {});
    await assert.rejects(refused.start(), /Connection refused/);

    const srv = await fakeServer(() => ({ status: 200, headers: { Session: 's1' } }));
    const push = new RtspPush({ url: `rtsp://127.0.0.1:${srv.port}/robots/r1`, tracks });
    await push.listen();
    await push.start();
    const gone = new Promise<Error>((r) => push.once('error', r));
    for (const c of srv.conns) c.destroy();
    assert.match((await gone).message, /closed|end of file|reset/i);
  });

  it('a server that stops reading: packets are dropped, never queued without bound, and the session ends as stalled', async () => {
    const srv = await fakeServer(() => ({ status: 200, headers: { Session: 's2' } }));
    const push = new RtspPush({ url: `rtsp://127.0.0.1:${srv.port}/robots/r1`, tracks, maxQueuedBytes: 64 * 1024, stallMs: 300 });
    const [v] = await push.listen();
    await push.start();
    for (const c of srv.conns) c.pause();
    const stalled = new Promise<Error>((r) => push.once('error', r));
    const udp = createSocket('udp4');
    const big = Buffer.alloc(1400, 1);
    big[0] = 0x80; // RTP version 2 (one timestamp: released once the timeline's hold runs out)
    const timer = setInterval(() => { for (let i = 0; i < 50; i++) udp.send(big, v!.rtp, '127.0.0.1'); }, 10);
    try {
      assert.match((await stalled).message, /stalled/);
      assert.ok(push.stats.dropped > 0, 'packets were dropped while the server did not read');
    } finally {
      clearInterval(timer);
      udp.close();
    }
  });

  it('the stall limit on a fake clock: dropping for exactly stallMs is tolerated, 1 ms more ends the session', async () => {
    let ms = 5000;
    const srv = await fakeServer(() => ({ status: 200, headers: { Session: 's4' } }));
    const push = new RtspPush({ url: `rtsp://127.0.0.1:${srv.port}/robots/r1`, tracks, maxQueuedBytes: 64 * 1024, stallMs: 300, now: () => ms });
    const [v] = await push.listen();
    await push.start();
    for (const c of srv.conns) c.pause();
    const errors: Error[] = [];
    push.on('error', (e: Error) => errors.push(e));
    const udp = createSocket('udp4');
    after(() => udp.close());
    const big = Buffer.alloc(1400, 1);
    big[0] = 0x80;
    const send = () => new Promise<void>((r) => udp.send(big, v!.rtp, '127.0.0.1', () => r()));
    // Fill the socket until the push starts dropping (at fake time 5000).
    await waitFor('the push dropping packets', async () => { for (let i = 0; i < 50; i++) await send(); return push.stats.dropped; }, (n) => n > 0, { everyMs: 1 });
    /** One more packet arriving at fake time `at`, awaited until dropped. */
    const dropAt = async (at: number) => {
      ms = at;
      const before = push.stats.dropped;
      await send();
      await waitFor(`a packet dropped at ${at}`, () => push.stats.dropped + errors.length, (n) => n > before, { everyMs: 2 });
    };
    const forwarded = push.stats.packets;
    await dropAt(5300);
    assert.equal(errors.length, 0, 'dropping for exactly 300 ms');
    await dropAt(5301);
    assert.equal(push.stats.packets, forwarded, 'nothing got through meanwhile (which would restart the count)');
    assert.match(errors[0]?.message ?? '', /stalled/);
  });

  it('refuses a URL that is not rtsp:// or rtsps://', () => {
    assert.throws(() => new RtspPush({ url: 'http://127.0.0.1/robots/r1', tracks }), TypeError);
  });
});
