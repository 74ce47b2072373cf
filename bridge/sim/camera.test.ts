import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { SimulatedCamera } from './camera.ts';

/** A stdin that takes every write and reports `pending` bytes as not yet taken by the pipe. */
function pipe(): { stdin: Writable; written: Buffer[]; pending: (n: number) => void } {
  const written: Buffer[] = [];
  let waiting = 0;
  const stdin = new Writable({ write(chunk: Buffer, _enc, done) { written.push(chunk); done(); } });
  Object.defineProperty(stdin, 'writableLength', { get: () => waiting });
  return { stdin, written, pending: (n) => { waiting = n; } };
}

describe('simulated camera frame pool', () => {
  const frameBytes = 320 * 240 * 3 / 2;

  test('an idle camera holds no frames; the pool empties when the last stdin detaches', () => {
    const cam = new SimulatedCamera({ width: 320, height: 240, fps: 1 });
    assert.equal(cam.pooledFrames, 0);
    const p = pipe();
    const stop = cam.feed(p.stdin); // the first frame is drawn and written at once
    assert.equal(p.written.length, 1);
    assert.equal(cam.pooledFrames, 1);
    stop();
    assert.equal(cam.generating, false);
    assert.equal(cam.pooledFrames, 0);
  });

  test('a frame its pipe still holds is never drawn over; a drained one is reused', () => {
    const cam = new SimulatedCamera({ width: 320, height: 240, fps: 1 });
    const p = pipe();
    const stop = cam.feed(p.stdin);
    try {
      const first = p.written[0]!;
      p.pending(100); // the tail of the first frame is still in the pipe
      const second = cam.renderFrame(Date.now());
      assert.notEqual(second, first);
      p.pending(0); // drained
      assert.equal(cam.renderFrame(Date.now()), first, 'one consumer that keeps up needs two buffers');
      p.pending(frameBytes + 100); // more than a frame waiting: the last two written are held
      (cam as unknown as { consumers: Set<{ recent: Buffer[] }> }).consumers.forEach((c) => c.recent.push(second));
      const third = cam.renderFrame(Date.now());
      assert.ok(third !== first && third !== second);
      assert.equal(cam.pooledFrames, 3);
    } finally { stop(); }
  });
});
