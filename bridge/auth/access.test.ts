// The bridge's token check per address: a page's parallel first requests with the right token all
// pass (they share one scrypt), while another token from the same address waits its turn (429).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { Access } from './access.ts';
import { SessionStore } from './sessions.ts';
import { TokenStore } from './token-store.ts';

const RIGHT = 'the-right-operator-token-0123456789';

async function access(): Promise<Access> {
  const { store } = await TokenStore.open(mkdtempSync(join(tmpdir(), 'havatar-access-')), { resetTo: RIGHT });
  return new Access(store, new SessionStore(), createLogger('test'));
}
const request = (token: string, address = '192.0.2.7'): IncomingMessage =>
  ({ headers: { authorization: `Bearer ${token}` }, url: '/system_status', socket: { remoteAddress: address } }) as unknown as IncomingMessage;

test('the right token sent by several requests at once, before it is remembered, passes on all of them', async () => {
  const a = await access();
  const results = await Promise.all(Array.from({ length: 6 }, () => a.authenticate(request(RIGHT))));
  assert.deepEqual(results.map((r) => r.ok), [true, true, true, true, true, true]);
});

test('another token from an address whose check is under way waits its turn (429); other addresses do not', async () => {
  const a = await access();
  const [first, other, elsewhere] = await Promise.all([
    a.authenticate(request(RIGHT)),
    a.authenticate(request('a-different-token-0123456789abcdef')),
    a.authenticate(request(RIGHT, '192.0.2.8')),
  ]);
  assert.equal(first.ok, true);
  assert.deepEqual(other.ok ? null : other.status, 429);
  assert.equal(elsewhere.ok, true);
});
