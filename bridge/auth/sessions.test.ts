// Cookie sessions expire on an injected clock: valid until 1 ms before `expires`, gone at it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SESSION_TTL_MS, SessionStore } from './sessions.ts';

function store(ttlMs = SESSION_TTL_MS) {
  let ms = 1_000_000;
  const s = new SessionStore(ttlMs, () => ms);
  return { s, at: (t: number) => { ms = t; }, now: () => ms };
}

describe('SessionStore (injected clock)', () => {
  it('a session is valid until 1 ms before its expiry and refused from then on', () => {
    const { s, at, now } = store();
    const t0 = now();
    const { id, expires } = s.create();
    assert.equal(expires, t0 + SESSION_TTL_MS);
    at(expires - 1);
    assert.equal(s.valid(id), true);
    at(expires);
    assert.equal(s.valid(id), false);
    at(expires - 1);
    assert.equal(s.valid(id), false, 'an expired session is deleted, not merely hidden');
  });

  it('revoke() ends a session at once; unknown and oversized ids are refused', () => {
    const { s } = store();
    const { id } = s.create();
    s.revoke(id);
    assert.equal(s.valid(id), false);
    assert.equal(s.valid(''), false);
    assert.equal(s.valid('x'.repeat(129)), false);
  });

  it('keeps at most 256 sessions: the oldest live one makes room, expired ones go first', () => {
    const { s, at, now } = store(1000);
    const first = s.create();
    at(now() + 1);
    const ids = [first.id];
    for (let i = 1; i < 256; i++) { at(now() + 1); ids.push(s.create().id); }
    at(now() + 1);
    const extra = s.create();
    assert.equal(s.valid(first.id), false, 'the oldest made room');
    assert.equal(s.valid(ids[1]!), true);
    assert.equal(s.valid(extra.id), true);
    // Once all but `extra` have expired, creating prunes them and pushes no live session out.
    at(extra.expires - 1);
    const late = s.create();
    assert.equal(s.valid(ids[255]!), false);
    assert.equal(s.valid(extra.id), true);
    assert.equal(s.valid(late.id), true);
  });
});
