import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPtyPair } from './pty.ts';

describe('createPtyPair', () => {
  it('connects the two ends and removes the links when closed', async () => {
    const pair = await createPtyPair();
    try {
      const host = openSync(pair.hostPath, 'r+');
      const dev = openSync(pair.devicePath, 'r+');
      writeSync(host, '$Q,1*51\n');
      const buf = Buffer.alloc(64);
      // The bytes cross socat asynchronously; a blocking read returns once they are there.
      const n = readSync(dev, buf);
      assert.equal(buf.subarray(0, n).toString('latin1'), '$Q,1*51\n');
      closeSync(host);
      closeSync(dev);
    } finally {
      await pair.close();
    }
    assert.equal(existsSync(pair.hostPath), false);
    assert.equal(existsSync(pair.devicePath), false);
  });

  it('creates a missing folder and replaces stale links from a crashed run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'havatar-pty-test-'));
    const dir = join(root, 'nested', 'pty');
    try {
      const first = await createPtyPair(dir);
      await first.close();
      symlinkSync('/nonexistent', join(dir, 'ttyHOST'));
      const second = await createPtyPair(dir);
      assert.ok(existsSync(second.hostPath));
      await second.close();
      await second.close(); // idempotent
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
