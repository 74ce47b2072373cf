// The bridge's driver lease has no time rule of its own: it is held until released or until the
// driver's connection goes (Motion's deadman stops a silent driver's robot; the lease stays). So
// this checks its bookkeeping only; the wiring over WebSockets is bridge/test/safety.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lease, type Holder } from './lease.ts';

describe('Lease', () => {
  it('one driver at a time: others are refused with the holder named, until it releases', () => {
    const lease = new Lease();
    const changes: (Holder | null)[] = [];
    lease.onChange((h) => changes.push(h));
    assert.deepEqual(lease.take('a', 'Ann'), { ok: true, already: false });
    assert.deepEqual(lease.take('b', 'Bob'), { ok: false, holder: { session: 'a', name: 'Ann' } });
    assert.deepEqual(lease.take('a', 'Ann 2'), { ok: true, already: true });
    assert.equal(lease.release('b'), false, 'only the holder releases');
    assert.equal(lease.release('a'), true);
    assert.deepEqual(lease.take('b', 'Bob'), { ok: true, already: false });
    assert.deepEqual(changes, [{ session: 'a', name: 'Ann' }, null, { session: 'b', name: 'Bob' }]);
  });

  it('a hand-over request is remembered until the lease changes hands', () => {
    const lease = new Lease();
    assert.equal(lease.request('b'), false, 'nobody to ask');
    lease.take('a', 'Ann');
    assert.equal(lease.request('a'), false, 'the driver cannot ask itself');
    assert.equal(lease.request('b'), true);
    assert.equal(lease.pendingRequest, 'b');
    lease.release('a');
    assert.equal(lease.pendingRequest, undefined);
  });

  it('driver is a copy: callers cannot change the holder', () => {
    const lease = new Lease();
    lease.take('a', 'Ann');
    lease.driver!.name = 'Mallory';
    assert.equal(lease.driver!.name, 'Ann');
    lease.rename('a', 'Ann B');
    assert.equal(lease.driver!.name, 'Ann B');
  });
});
