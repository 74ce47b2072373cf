// The relay's failed-login brake under a flood of source addresses: it remembers a bounded number
// of addresses (common/login-brake.ts, 4096), so guesses from ever new addresses cannot grow it.
// Seen through Access's own answers: with a lockout after one failure, exactly the newest 4096
// addresses are locked and the ones that failed first have been forgotten.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_ADDRESSES } from '../../common/login-brake.ts';
import { createLogger } from '../../common/log.ts';
import { Access } from '../relay/access.ts';
import { RelayLimits } from '../relay/limits.ts';
import { FileStore } from '../relay/store.ts';
import { tempDir } from './helpers.ts';

test('the failure map stays bounded under 10 000 source addresses', async () => {
  const limits: RelayLimits = { ...RelayLimits, authFailBaseDelayMs: 0, authFailMaxDelayMs: 0, authFailLockAfter: 1 };
  const quiet = { ...createLogger('test'), warn: () => {} };
  const access = new Access(new FileStore(tempDir()), limits, quiet, undefined);
  const flood = 10_000;
  const ip = (i: number) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
  for (let i = 0; i < flood; i++) await access.failed(ip(i), 'client');
  let locked = 0;
  for (let i = 0; i < flood; i++) if (access.locked(ip(i))) locked++;
  assert.equal(locked, DEFAULT_MAX_ADDRESSES, 'only the newest 4096 addresses are remembered');
  assert.equal(access.locked(ip(0)), false, 'the first address was dropped for a newcomer');
  assert.equal(access.locked(ip(flood - 1)), true);
});
