// The auth hook's shared secret on both ends: what the rendered MediaMTX config sends (the secret
// as the password of authHTTPAddress, which MediaMTX's Go client sends as Basic auth) and what the
// relay accepts. The real MediaMTX sending it is in attacks-access.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookUrl, renderMediamtxConfig } from '../mediamtx-config.ts';
import { hookSecretOk } from '../relay/mediamtx-auth.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('the rendered config carries the secret as the hook URL\'s password, and the trusted proxies', () => {
  assert.equal(hookUrl('http://relay:3000/mediamtx/auth', 'a-secret-of-20-chars'), 'http://mediamtx:a-secret-of-20-chars@relay:3000/mediamtx/auth');
  assert.equal(hookUrl('http://relay:3000/mediamtx/auth', undefined), 'http://relay:3000/mediamtx/auth');
  const out = renderMediamtxConfig({ authUrl: 'http://127.0.0.1:3000/mediamtx/auth', authSecret: 's3cret-s3cret-s3cret', trustedProxies: ['172.30.87.10'] });
  assert.match(out, /^authHTTPAddress: http:\/\/mediamtx:s3cret-s3cret-s3cret@127\.0\.0\.1:3000\/mediamtx\/auth$/m);
  assert.match(out, /^webrtcTrustedProxies: \["172\.30\.87\.10"\]$/m);
  assert.match(out, /^hlsTrustedProxies: \["172\.30\.87\.10"\]$/m);
  assert.match(renderMediamtxConfig({}), /^webrtcTrustedProxies: \[\]$/m, 'no proxy is trusted unless one is named');
});

test('the relay accepts the hook only with its secret', () => {
  const secret = 'the-hook-secret-0123';
  assert.equal(hookSecretOk(basic('mediamtx', secret), secret), true);
  assert.equal(hookSecretOk(basic('anyone', secret), secret), true, 'the user name is not the secret');
  for (const bad of [undefined, '', `Bearer ${secret}`, basic('mediamtx', 'wrong'), basic('mediamtx', `${secret}x`), basic(secret, ''), 'Basic !!!']) {
    assert.equal(hookSecretOk(bad, secret), false, String(bad));
  }
  assert.equal(hookSecretOk(basic('mediamtx', ''), undefined), false, 'no secret configured: nothing passes');
  assert.equal(hookSecretOk(basic('mediamtx', 'x'), ''), false);
});
