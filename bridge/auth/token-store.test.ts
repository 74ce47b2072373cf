// The operator token store under a flood: a bounded number of scrypt checks run and wait, the rest
// are refused at once (TokenCheckBusy), and the same token checked twice at once costs one scrypt.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SCRYPT_AT_ONCE, SCRYPT_WAITING, TokenCheckBusy, TokenStore } from './token-store.ts';

const RIGHT = 'the-right-operator-token-0123456789';
const open = async () => (await TokenStore.open(mkdtempSync(join(tmpdir(), 'havatar-tokens-')), { resetTo: RIGHT })).store;

test('distinct wrong tokens at once: a few are checked, the rest refused at once', async () => {
  const store = await open();
  const extra = 25;
  const results = await Promise.allSettled(Array.from({ length: SCRYPT_AT_ONCE + SCRYPT_WAITING + extra }, (_, i) => store.verify(`guess-${i}-0123456789abcdef`)));
  const busy = results.filter((r) => r.status === 'rejected');
  assert.equal(busy.length, extra);
  assert.ok(busy.every((r) => (r as PromiseRejectedResult).reason instanceof TokenCheckBusy));
  assert.ok(results.every((r) => r.status === 'rejected' || r.value === false));
  assert.equal(await store.verify(RIGHT), true, 'once drained, the right token passes');
  assert.equal(store.remembered(RIGHT), true);
});

test('the same token many times at once shares one check (none refused)', async () => {
  const store = await open();
  const results = await Promise.all(Array.from({ length: 50 }, () => store.verify(RIGHT)));
  assert.ok(results.every(Boolean));
});
