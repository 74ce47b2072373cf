// ByteRate on explicit times: the window, the start of a stream, a stream that stops.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteRate, RATE_WINDOW_MS } from './byte-rate.ts';

describe('ByteRate', () => {
  it('a steady 1500 kbps (1875 bytes every 10 ms) reads 1500 once the window is full', () => {
    const r = new ByteRate();
    for (let t = 0; t < 5000; t += 10) r.add(1875, t);
    // At 4999.9 the window holds the buckets from 3000 to 4999: 2000 ms of packets.
    assert.equal(r.kbps(4999.9), 1500);
  });

  it('0 before any byte; a young stream is rated over its own age (at least 500 ms), not the whole window', () => {
    const r = new ByteRate();
    assert.equal(r.kbps(1000), 0);
    r.add(12_500, 1000);
    assert.equal(r.kbps(1000), 200, 'one packet: 100 kbit over the 500 ms floor');
    r.add(12_500, 1900);
    assert.equal(r.kbps(2000), 200, '200 kbit over 1000 ms');
  });

  it('bytes older than the window are gone: a stream that stops reads 0 after RATE_WINDOW_MS', () => {
    const r = new ByteRate();
    for (let t = 0; t < 3000; t += 100) r.add(1000, t);
    assert.ok(r.kbps(3000) > 0);
    assert.equal(r.kbps(3000 + RATE_WINDOW_MS), 0);
    // A slot reused by a later bucket starts from zero, not from what it held a window ago.
    r.add(1000, 3000 + RATE_WINDOW_MS);
    assert.equal(r.kbps(3000 + RATE_WINDOW_MS), 4);
  });
});
