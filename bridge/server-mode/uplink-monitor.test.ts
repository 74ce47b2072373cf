// The uplink policy on a real throttled path: RtspPush publishing RTP over TCP to an RTSP server
// that stops reading (the uplink gone thin), then reads again. The kernel's send queue for the
// socket grows, the monitor steps the video down, and back up once the queue has drained and
// stayed empty. Short policy times keep the test to a few seconds; the times themselves are the
// fake-clock tests' (uplink-policy.test.ts).
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { RtspPush } from './rtsp-push.ts';
import { fakeServer } from './test/fake-rtsp-server.ts';
import { UplinkMonitor } from './uplink-monitor.ts';
import { uplinkLadder, type UplinkStep } from './uplink-policy.ts';
import { txQueueInFile, txQueueOf } from './uplink-queue.ts';

/** An RTSP server that answers every request 200 with a session (the reads it records are not used). */
const rtspServer = () => fakeServer(() => ({ status: 200, headers: { Session: 's1' } }));

describe('txQueueOf (/proc/net/tcp)', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    '   1: 0100007F:A379 0100007F:2166 01 0001F400:00000000 01:00000014 00000000     0        0 2 1',
    '   2: 0100007F:A37A 0100007F:2166 06 00000010:00000000 00:00000000 00000000     0        0 3 1',
  ].join('\n');
  it('reads the established socket\'s tx_queue by its ports; null when there is none', () => {
    assert.equal(txQueueOf(text, 0xa379, 0x2166), 128_000);
    assert.equal(txQueueOf(text, 0xa37a, 0x2166), null, 'TIME_WAIT is not the publish socket');
    assert.equal(txQueueOf(text, 0x1f90, 0), null, 'a listener is not it either');
  });
});

describe('txQueueInFile (/proc/net/tcp read in chunks)', () => {
  // A busy host's table: thousands of sockets, 150-byte lines, the one wanted far down. The peer's
  // socket (our local port as its remote port) comes first: a hit on the port that is not it.
  const line = (sl: number, local: string, remote: string, st: string, tx: string) =>
    `${String(sl).padStart(4)}: ${local} ${remote} ${st} ${tx}:00000000 00:00000000 00000000     0        0 ${sl} 1`.padEnd(149) + '\n';
  const rows = ['  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'.padEnd(149) + '\n'];
  for (let i = 0; i < 3000; i++) rows.push(line(i, `0100007F:${(0x8000 + i).toString(16).toUpperCase()}`, '0100007F:2166', '01', '00000000'));
  rows.push(line(3000, '0100007F:2166', '0100007F:A379', '01', '00000200'));
  rows.push(line(3001, '0100007F:A379', '0100007F:2166', '01', '0001F400'));
  const dir = mkdtempSync(join(tmpdir(), 'havatar-txq-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tcp');
  writeFileSync(file, rows.join(''));

  it('finds the socket whichever chunk boundary cuts its line, as txQueueOf does on the whole text', async () => {
    const text = rows.join('');
    assert.equal(txQueueOf(text, 0xa379, 0x2166), 128_000);
    // Chunk sizes whose plain consecutive reads would cut the wanted line (its bytes
    // [start, start + 150)), where only the carried-over tail finds it; the default; and 64 kB.
    const start = text.length - 150;
    const cutting = [];
    for (let c = 600; cutting.length < 3; c++) if (Math.floor(start / c) !== Math.floor((start + 149) / c)) cutting.push(c);
    for (const chunk of [...cutting, 16384, 65536]) {
      assert.equal(await txQueueInFile(file, 0xa379, 0x2166, chunk), 128_000, `chunk ${chunk}`);
      assert.equal(await txQueueInFile(file, 0x2166, 0xa379, chunk), 0x200, `the peer's socket, chunk ${chunk}`);
      assert.equal(await txQueueInFile(file, 0xa37a, 0x2166, chunk), null, `absent, chunk ${chunk}`);
    }
  });

  it('a file without line breaks in a chunk is not a proc table: null, not a loop', async () => {
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'x'.repeat(5000));
    assert.equal(await txQueueInFile(junk, 0xa379, 0x2166, 1000), null);
  });
});

describe('uplink monitor on a throttled path', () => {
  it('the RTSP server stops reading: the video steps down; it reads again: back up to full', { timeout: 30_000 }, async () => {
    const srv = await rtspServer();
    const push = new RtspPush({ url: `rtsp://127.0.0.1:${srv.port}/robots/r1`, tracks: [{ sdp: 'm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000' }], maxQueuedBytes: 16 << 20 });
    after(() => push.close());
    const [ports] = await push.listen();
    await push.start();
    // 1500 kbps at the top: a queue of 400 ms is 75 kB.
    const monitor = new UplinkMonitor(uplinkLadder({ kbps: 1500, fps: 30, width: 1280, height: 720 }), {
      sampleMs: 50, downAfterMs: 300, settleMs: 300, upAfterMs: 1000,
    });
    after(() => monitor.close());
    monitor.watch(push);
    const steps: UplinkStep[] = [];
    monitor.on('step', (s: UplinkStep) => steps.push(s));

    // The "encoder": ~2.2 Mbps of RTP to the push's loopback port, as FFmpeg would send it.
    const udp = createSocket('udp4');
    after(() => udp.close());
    let seq = 0;
    const packet = () => {
      const p = Buffer.alloc(1400, 7);
      p[0] = 0x80; p[1] = 96;
      p.writeUInt16BE(seq++ & 0xffff, 2);
      p.writeUInt32BE((Math.round(performance.now() * 90)) >>> 0, 4);
      p.writeUInt32BE(0x1234, 8);
      return p;
    };
    const sender = setInterval(() => { for (let i = 0; i < 4; i++) udp.send(packet(), ports!.rtp, '127.0.0.1'); }, 20);
    after(() => clearInterval(sender));

    await waitFor('packets flowing', () => push.stats.packets, (n) => n > 50, 5000);
    assert.equal(monitor.state.step, 0);
    for (const c of srv.conns) c.pause(); // the uplink goes thin
    await waitFor('a step down', () => monitor.state.step, (s) => s >= 1, { timeoutMs: 15_000, everyMs: 20 });
    assert.match(monitor.state.reason, /^uplink congested: (\d+ ms of video waiting to leave|the uplink queue overflowed)/);
    for (const c of srv.conns) c.resume(); // room again
    await waitFor('back to full quality', () => monitor.state.step, (s) => s === 0, { timeoutMs: 20_000, everyMs: 20 });
    assert.match(monitor.state.reason, /^full quality \(uplink has room: \d+ s without a queue\)$/);
    assert.ok(steps.some((s) => s.name !== 'full') && steps.at(-1)!.name === 'full', `steps: ${steps.map((s) => s.name).join(' → ')}`);
  });
});
