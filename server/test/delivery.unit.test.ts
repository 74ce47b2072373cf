// delivery.ts writes the relay's text frames itself (textFrame, one Buffer per frame instead of
// ws.send's header and payload apart): every length form of RFC 6455's header must read back,
// through ws's own receiver, as the text that was sent.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { textFrame } from '../relay/delivery.ts';

// ws's own frame reader (exported by ws, absent from its type definitions).
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (opts: { isServer: boolean; maxPayload: number }) => EventEmitter & { write(b: Buffer): void } };

function readBack(frames: Buffer[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const r = new Receiver({ isServer: false, maxPayload: 0 });
    r.on('message', (data: Buffer, isBinary: boolean) => {
      assert.equal(isBinary, false);
      got.push(data.toString('utf8'));
      if (got.length === frames.length) resolve(got);
    });
    r.on('error', reject);
    r.write(Buffer.concat(frames));
  });
}

describe('textFrame', () => {
  it('reads back whole through ws, at each header length (7-bit, 16-bit, 64-bit) and its edges', async () => {
    const texts = [0, 1, 125, 126, 127, 65535, 65536, 70001].map((n) => 'a'.repeat(n));
    assert.deepEqual(await readBack(texts.map(textFrame)), texts);
  });

  it('measures multi-byte text in bytes, not characters', async () => {
    // 42 × 3 bytes = 126: one more than the 7-bit length holds, though the string has 42 characters.
    const texts = ['€'.repeat(42), 'ă😀'.repeat(30), '{"v":1,"type":"ack","reason":"ţ"}'];
    assert.deepEqual(await readBack(texts.map(textFrame)), texts);
    assert.equal(textFrame(texts[0]!)[1], 126);
  });
});
