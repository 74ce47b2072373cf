// checkFields reads each spec once (compiled, for the relay's CPU per message) and walks a frame's
// keys with for…in: the verdicts must be those of the plain reading it replaced, kept here as
// `reference` (Object.keys and Object.entries on every call).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkFields, int, oneOf, optional, str, type Checker, type FieldSpec } from './check.ts';

type Spec = Record<string, FieldSpec | Checker>;

function reference(obj: Record<string, unknown>, spec: Spec, prefix = ''): { error: string; field: string } | null {
  for (const key of Object.keys(obj)) if (!Object.hasOwn(spec, key)) return { error: 'is not a known field', field: prefix + key };
  for (const [key, entry] of Object.entries(spec)) {
    const { check, optional: opt } = typeof entry === 'function' ? { check: entry, optional: false } : entry;
    if (!Object.hasOwn(obj, key) || obj[key] === undefined) {
      if (opt) continue;
      return { error: 'is required', field: prefix + key };
    }
    const problem = check(obj[key]);
    if (problem) return { error: problem, field: prefix + key };
  }
  return null;
}

const SPEC: Spec = { a: int(0, 10), b: optional(str(1, 3)), c: oneOf('x', 'y'), '0': optional(int(0, 1)) };
const KEYS = ['a', 'b', 'c', '0', 'd', '1', '__proto__', 'constructor', 'toString'];

describe('checkFields', () => {
  it('gives the plain reading\'s verdict on random objects, over and over with the same spec', () => {
    const value = fc.oneof(fc.integer({ min: -2, max: 12 }), fc.string({ maxLength: 4 }), fc.constantFrom('x', 'y', undefined, null, 1.5));
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...KEYS), value), { maxLength: 7 }), (pairs) => {
      // Built from JSON like a frame, so a key named __proto__ is an own field.
      const obj = JSON.parse(`{${pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`) as Record<string, unknown>;
      assert.deepEqual(checkFields(obj, SPEC, 'p.'), reference(obj, SPEC, 'p.'));
    }), { numRuns: 3000 });
  });

  it('names the first unknown field in the frame\'s own key order, integer keys first', () => {
    assert.deepEqual(checkFields(JSON.parse('{"a":1,"c":"x","d":1,"1":0}') as Record<string, unknown>, SPEC), { error: 'is not a known field', field: '1' });
  });

  it('judges own fields only: an enumerable inherited one is neither unknown nor present', () => {
    const obj = Object.create({ d: 1, a: 5 }) as Record<string, unknown>;
    obj.c = 'x';
    assert.deepEqual(checkFields(obj, SPEC), { error: 'is required', field: 'a' });
    obj.a = 5;
    assert.equal(checkFields(obj, SPEC), null);
  });

  it('a spec built on every call (the bridge\'s HTTP routes) is read afresh each time', () => {
    for (const max of [1, 5]) assert.equal(checkFields({ n: 3 }, { n: int(0, max) }) === null, max === 5);
  });
});
