// MediaKick on a fake MediaMTX API and a hand-moved clock: what the auth hook's allows record, which
// sessions a sweep kicks, what it keeps for the next tick, and how its memory is bounded. The real
// processes (relay, MediaMTX, Chromium readers) are in attacks-revoke.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Logger } from '../../common/log.ts';
import { MediaKick } from '../relay/media-kick.ts';

const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A fake MediaMTX API: which sessions it knows per kind, the calls it got, and whether it is up. */
function fakeApi() {
  const known = new Map<string, Set<string>>([['webrtcsessions', new Set()], ['hlssessions', new Set()], ['rtspsessions', new Set()], ['rtspssessions', new Set()]]);
  const calls: { method: string; url: string; auth: string | null }[] = [];
  const state = { up: true };
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    calls.push({ method, url, auth: new Headers(init?.headers).get('authorization') });
    if (!state.up) throw new Error('connect ECONNREFUSED');
    const kick = /\/v3\/(\w+)\/kick\/(.+)$/.exec(url);
    if (kick) return new Response('', { status: known.get(kick[1]!)?.delete(kick[2]!) ? 200 : 404 });
    const list = /\/v3\/(\w+)\/list/.exec(url);
    if (list) return Response.json({ items: [...(known.get(list[1]!) ?? [])].map((id) => ({ id })) });
    return new Response('', { status: 404 });
  }) as typeof fetch;
  return { known, calls, state, fetch: f };
}

function rig(over: { apiUrl?: string } = {}) {
  const api = fakeApi();
  const logs: string[] = [];
  const log: Logger = { debug() {}, info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m), child: () => log };
  let t = 0;
  const kick = new MediaKick({ apiUrl: over.apiUrl ?? 'http://127.0.0.1:9997', log, fetch: api.fetch, now: () => t, graceMs: 10_000, pruneEveryMs: 30_000 });
  const dead = new Set<string>();
  const sweep = () => kick.sweep(async (s) => !dead.has(s));
  return { api, logs, kick, dead, sweep, at: (ms: number) => { t = ms; } };
}

describe('media-kick', () => {
  test('only operator sessions\' allows with a MediaMTX session id are remembered', () => {
    const { kick } = rig();
    kick.note({ protocol: 'webrtc', id: ID(1), path: 'robots/sim' }, 'robot:sim');
    kick.note({ protocol: 'webrtc', id: null, path: 'robots/sim' }, 'session:a');
    kick.note({ protocol: 'webrtc', id: 'not-a-uuid', path: 'robots/sim' }, 'session:a');
    kick.note({ protocol: 'srt', id: ID(2), path: 'robots/sim' }, 'session:a');
    assert.equal(kick.size, 0);
    kick.note({ protocol: 'webrtc', id: ID(3), path: 'robots/sim' }, 'session:a');
    kick.note({ protocol: 'webrtc', id: ID(3), path: 'robots/sim' }, 'session:a');
    assert.equal(kick.size, 1, 'the same MediaMTX session twice is one entry');
  });

  test('a sweep kicks the media of dead sessions only, each in its own collection, and forgets it', async () => {
    const { api, kick, dead, sweep, logs } = rig();
    for (const [n, kind, protocol, who] of [[1, 'webrtcsessions', 'webrtc', 'a'], [2, 'hlssessions', 'hls', 'a'], [3, 'rtspsessions', 'rtsp', 'a'], [4, 'webrtcsessions', 'webrtc', 'b']] as const) {
      api.known.get(kind)!.add(ID(n));
      kick.note({ protocol, id: ID(n), path: 'robots/sim' }, `session:${who}`);
    }
    await sweep();
    assert.equal(api.calls.filter((c) => c.method === 'POST').length, 0, 'nothing is kicked while every session stands');
    dead.add('a');
    await sweep();
    assert.deepEqual(api.calls.filter((c) => c.method === 'POST').map((c) => c.url.replace('http://127.0.0.1:9997', '')).sort(),
      [`/v3/hlssessions/kick/${ID(2)}`, `/v3/rtspsessions/kick/${ID(3)}`, `/v3/webrtcsessions/kick/${ID(1)}`]);
    assert.deepEqual([...api.known.get('webrtcsessions')!], [ID(4)], 'the live session\'s reader stays');
    assert.equal(kick.size, 1);
    assert.equal(logs.filter((l) => l === 'media kicked').length, 3);
  });

  test('RTSP media is looked for among plain and TLS sessions', async () => {
    const { api, kick, dead, sweep } = rig();
    api.known.get('rtspssessions')!.add(ID(5));
    kick.note({ protocol: 'rtsp', id: ID(5), path: 'robots/sim' }, 'session:a');
    dead.add('a');
    await sweep();
    assert.equal(api.known.get('rtspssessions')!.size, 0);
    assert.equal(kick.size, 0);
  });

  test('a kick that finds nothing is retried until the grace ends (MediaMTX asks before it lists)', async () => {
    const { api, kick, dead, sweep, at } = rig();
    kick.note({ protocol: 'hls', id: ID(6), path: 'robots/sim' }, 'session:a');
    dead.add('a');
    await sweep();
    assert.equal(kick.size, 1, 'kept: the session may not be listed yet');
    api.known.get('hlssessions')!.add(ID(6));
    at(1000);
    await sweep();
    assert.equal(api.known.get('hlssessions')!.size, 0, 'kicked once it appeared');
    assert.equal(kick.size, 0);
    at(11_000);
    kick.note({ protocol: 'hls', id: ID(7), path: 'robots/sim' }, 'session:a');
    await sweep();
    assert.equal(kick.size, 1);
    at(21_000);
    await sweep();
    assert.equal(kick.size, 0, 'forgotten after the grace');
  });

  test('MediaMTX down: entries are kept and kicked when it is back; one warning per outage', async () => {
    const { api, kick, dead, sweep, logs, at } = rig();
    api.known.get('webrtcsessions')!.add(ID(8));
    kick.note({ protocol: 'webrtc', id: ID(8), path: 'robots/sim' }, 'session:a');
    dead.add('a');
    api.state.up = false;
    await sweep();
    at(60_000);
    await sweep();
    assert.equal(kick.size, 1);
    assert.equal(logs.filter((l) => l.startsWith('mediamtx API unreachable')).length, 1);
    api.state.up = true;
    await sweep();
    assert.equal(kick.size, 0);
    assert.equal(api.known.get('webrtcsessions')!.size, 0);
  });

  test('entries of live sessions whose reader left are forgotten at the next prune', async () => {
    const { api, kick, sweep, at } = rig();
    api.known.get('webrtcsessions')!.add(ID(9));
    kick.note({ protocol: 'webrtc', id: ID(9), path: 'robots/sim' }, 'session:a');
    kick.note({ protocol: 'webrtc', id: ID(10), path: 'robots/sim' }, 'session:a');
    at(29_999);
    await sweep();
    assert.equal(kick.size, 2, 'not yet time to prune');
    at(30_000);
    await sweep();
    assert.equal(kick.size, 1, 'the unlisted one is forgotten, the listed one kept');
  });

  test('credentials in the API URL go in a Basic header (fetch refuses them in the URL)', async () => {
    const { api, kick, dead, sweep } = rig({ apiUrl: 'http://api%20user:p%40ss@127.0.0.1:9997/' });
    kick.note({ protocol: 'webrtc', id: ID(11), path: 'robots/sim' }, 'session:a');
    dead.add('a');
    await sweep();
    const call = api.calls[0]!;
    assert.equal(call.url, `http://127.0.0.1:9997/v3/webrtcsessions/kick/${ID(11)}`);
    assert.equal(call.auth, `Basic ${Buffer.from('api user:p@ss').toString('base64')}`);
  });
});
