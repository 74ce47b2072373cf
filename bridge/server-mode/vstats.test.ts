import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sweepStaleFifos } from './vstats.ts';

test('the FIFOs of bridges that are gone are swept; a running bridge\'s and other files stay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'havatar-vstats-sweep-'));
  try {
    // A pid that ran and exited: its FIFO is stale.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = `havatar-vstats-${gone}-0123abcd`;
    const live = `havatar-vstats-${process.pid}-89abcdef`;
    const other = 'havatar-vstats-notes.txt';
    for (const f of [stale, live, other]) writeFileSync(join(dir, f), '');
    assert.deepEqual(sweepStaleFifos(dir), [stale]);
    assert.equal(existsSync(join(dir, stale)), false);
    assert.equal(existsSync(join(dir, live)), true);
    assert.equal(existsSync(join(dir, other)), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
