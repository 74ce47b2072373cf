// The internal credential of MediaMTX's API and metrics as the relay's hook checks it, and how the
// relay carries it on its own calls (a URL with user:password, turned into a Basic header).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { internalCredentialOk, isInternalAction, MEDIAMTX_API_USER, splitCredential, withApiCredential } from '../relay/internal-api.ts';

const SECRET = 'unit-internal-secret-0123456789';

describe('internal credential', () => {
  test('only user havatar with the exact secret passes; no configured secret lets nobody in', () => {
    assert.equal(internalCredentialOk({ user: MEDIAMTX_API_USER, password: SECRET }, SECRET), true);
    for (const q of [{}, { user: MEDIAMTX_API_USER }, { user: MEDIAMTX_API_USER, password: `${SECRET}x` }, { user: 'sim', password: SECRET }, { user: '', password: SECRET }]) {
      assert.equal(internalCredentialOk(q, SECRET), false, JSON.stringify(q));
    }
    assert.equal(internalCredentialOk({ user: MEDIAMTX_API_USER, password: '' }, undefined), false);
    assert.equal(internalCredentialOk({ user: MEDIAMTX_API_USER, password: '' }, ''), false);
  });

  test('api, metrics and pprof are internal; publish, read and playback are not', () => {
    assert.deepEqual(['api', 'metrics', 'pprof', 'publish', 'read', 'playback', undefined].map(isInternalAction), [true, true, true, false, false, false, false]);
  });

  test('the relay\'s API URL carries the credential, and fetch gets it as a Basic header', () => {
    const url = withApiCredential('http://mediamtx:9997/', SECRET);
    const { base, headers } = splitCredential(url);
    assert.equal(base, 'http://mediamtx:9997');
    assert.equal(Buffer.from(headers.Authorization!.replace(/^Basic /, ''), 'base64').toString(), `${MEDIAMTX_API_USER}:${SECRET}`);
    assert.deepEqual(splitCredential(withApiCredential('http://127.0.0.1:9997', undefined)), { base: 'http://127.0.0.1:9997', headers: {} });
  });
});
