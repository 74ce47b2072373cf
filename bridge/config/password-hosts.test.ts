import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostChangeProblem, passwordHosts } from './password-hosts.ts';
import { DEFAULT_CONFIG, type Config } from './schema.ts';

const withServer = (patch: Partial<Config['server_mode']>): Config => {
  const c = structuredClone(DEFAULT_CONFIG);
  Object.assign(c.server_mode, { server_url: 'https://relay.example', stream_password: 'stored-secret', ...patch });
  return c;
};
const stored = withServer({});

describe('where the stream password goes', () => {
  test('the relay origin and the RTSP scheme, host and port (derived from server_url when rtsp_url is null)', () => {
    assert.deepEqual(passwordHosts(stored.server_mode), ['https://relay.example', 'rtsps://relay.example:8322']);
    assert.deepEqual(passwordHosts(withServer({ server_url: 'https://relay.example:443/prefix/', rtsp_url: 'rtsps://Media.Example:8322/' }).server_mode),
      ['https://relay.example', 'rtsps://media.example:8322']);
  });
});

describe('a host change needs the password again', () => {
  const moved = (patch: Partial<Config['server_mode']>, sent: Record<string, unknown> = patch) =>
    hostChangeProblem(stored, withServer(patch), { server_mode: sent });

  test('a new scheme, host or port of server_url or rtsp_url without the password is refused, naming the field', () => {
    for (const patch of [
      { server_url: 'https://evil.example' }, { server_url: 'http://relay.example' }, { server_url: 'https://relay.example:8443' },
      { rtsp_url: 'rtsp://evil.example:8554' }, { rtsp_url: 'rtsps://relay.example:8554' }, { rtsp_url: 'rtsp://relay.example:8555' },
    ]) {
      const p = moved(patch);
      assert.equal(p?.field, 'server_mode.stream_password', JSON.stringify(patch));
      assert.match(p.error, /given again/);
    }
    assert.match(moved({ rtsp_url: 'rtsp://evil.example' })?.error ?? '', /rtsp_url host/);
    assert.match(moved({ server_url: 'https://evil.example' })?.error ?? '', /server_url host/);
    // An update without a server_mode object carries no password either.
    assert.ok(hostChangeProblem(stored, withServer({ server_url: 'https://evil.example' }), {}));
    assert.ok(hostChangeProblem(stored, withServer({ server_url: 'https://evil.example' }), null));
  });

  test('the same host (another path, a default port written out, a trailing slash) keeps the stored password', () => {
    for (const patch of [{ server_url: 'https://relay.example/relay/' }, { server_url: 'https://RELAY.example:443' }, { rtsp_url: 'rtsps://relay.example:8322' }, { video_fps: 25 }]) {
      assert.equal(moved(patch), null, JSON.stringify(patch));
    }
  });

  test('the password in the same update (an empty one clears it) allows the change', () => {
    assert.equal(moved({ server_url: 'https://new.example', stream_password: 'new-secret' }), null);
    assert.equal(moved({ server_url: 'https://new.example', stream_password: '' }), null);
  });

  test('nothing stored, nothing to steal: a first set-up may change the host alone', () => {
    const fresh = withServer({ stream_password: '' });
    assert.equal(hostChangeProblem(fresh, withServer({ server_url: 'https://new.example', stream_password: '' }), { server_mode: { server_url: 'https://new.example' } }), null);
  });
});
