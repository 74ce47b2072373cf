import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRobotMessage } from '../protocol/messages.ts';
import { errorFrame } from './error-frame.ts';

test('an error frame is trimmed to what the protocol accepts, and passes its validator', () => {
  const e = errorFrame('bad_message', 'x'.repeat(900), 'f'.repeat(300), 'r'.repeat(300));
  assert.equal(e.message.length, 500);
  assert.equal(e.field?.length, 100);
  assert.equal(e.ref?.length, 100);
  assert.equal(parseRobotMessage(JSON.stringify(e)).ok, true);
});

test('empty field and ref are left out, not sent empty', () => {
  assert.deepEqual(errorFrame('internal', 'oops', '', undefined), { v: 1, type: 'error', code: 'internal', message: 'oops' });
});
