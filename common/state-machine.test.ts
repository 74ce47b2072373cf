// The shared machine under Node (the bridge and the relay): strict under node:test, so an illegal
// transition in any bridge or relay test fails it. The table and timer rules themselves are
// tested in the browser (src/lib/state-machine.test.ts), where the other switch applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRICT_TRANSITIONS, StateMachine, type Transitions } from './state-machine.ts';

type Link = 'idle' | 'connecting' | 'up';
const LINK: Transitions<Link> = { idle: ['connecting'], connecting: ['up', 'idle'], up: ['idle'] };

test('under node:test an illegal transition throws and the state stays', () => {
  assert.equal(STRICT_TRANSITIONS, true);
  const m = new StateMachine<Link>('relay link', 'idle', LINK);
  assert.throws(() => m.to('up'), /relay link: illegal transition idle → up/);
  assert.equal(m.state, 'idle');
  assert.equal(m.to('connecting'), true);
});
