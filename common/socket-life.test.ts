// The connection lifecycle (the relay's connections, the bridge's sessions) without sockets: the
// allowed path, an illegal transition throwing (StateMachine is strict under node:test), and every
// timer cleared on each way out.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, mock, test } from 'node:test';
import { CLOSE_GRACE_MS, ConnLife, CONN_TRANSITIONS } from './socket-life.ts';
import { StateMachine } from './state-machine.ts';

/** A socket that records what the lifecycle does; `peerCloses` says whether close() is answered at once. */
class FakeSocket extends EventEmitter {
  calls: string[] = [];
  constructor(private readonly peerCloses: boolean) { super(); }
  close(code: number): void { this.calls.push(`close ${code}`); if (this.peerCloses) this.emit('close'); }
  terminate(): void { this.calls.push('terminate'); this.emit('close'); }
}

afterEach(() => mock.timers.reset());

describe('relay connection lifecycle', () => {
  test('a client joins, opens, closes and is closed; closing twice closes once', () => {
    const ws = new FakeSocket(true);
    const life = new ConnLife(ws, 'joining', 'relay connection');
    assert.equal(life.state, 'joining');
    life.opened();
    assert.equal(life.state, 'open');
    life.close(4011, 'replaced by a new connection');
    life.close(4011, 'again');
    assert.equal(life.state, 'closed');
    assert.equal(life.ending, true);
    assert.deepEqual(ws.calls, ['close 4011']);
    assert.equal(life.timers.size, 0, 'the grace timer went with the close');
  });

  test('a client gone while joining goes straight to closed, and cannot open any more', () => {
    const ws = new FakeSocket(false);
    const life = new ConnLife(ws, 'joining', 'relay connection');
    ws.emit('close');
    assert.equal(life.state, 'closed');
    assert.throws(() => life.opened(), /relay connection: illegal transition closed → open/);
  });

  test('an open robot that is terminated (heartbeat) is closed without passing closing', () => {
    const ws = new FakeSocket(false);
    const life = new ConnLife(ws, 'open', 'relay robot');
    ws.terminate();
    assert.equal(life.state, 'closed');
  });

  test('an illegal transition throws under node:test, and the table is listed once', () => {
    const m = new StateMachine('relay connection', 'open', CONN_TRANSITIONS);
    assert.throws(() => m.to('joining'), /illegal transition open → joining/);
    assert.equal(m.state, 'open');
    assert.deepEqual(CONN_TRANSITIONS.closed, [], 'closed is final');
  });

  test(`a peer that never answers the close handshake is terminated exactly ${CLOSE_GRACE_MS} ms later, and no timer is left`, () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const ws = new FakeSocket(false);
    const life = new ConnLife(ws, 'open', 'relay connection');
    assert.equal(life.ending, false);
    life.close(4020, 'too slow');
    assert.equal(life.state, 'closing');
    assert.equal(life.ending, true);
    assert.equal(life.timers.size, 1);
    mock.timers.tick(CLOSE_GRACE_MS - 1);
    assert.deepEqual(ws.calls, ['close 4020']);
    mock.timers.tick(1);
    assert.deepEqual(ws.calls, ['close 4020', 'terminate']);
    assert.equal(life.state, 'closed');
    assert.equal(life.timers.size, 0);
  });

  test('a peer that answers late, within the grace, clears the timer: nothing fires afterwards', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const ws = new FakeSocket(false);
    const life = new ConnLife(ws, 'joining', 'relay connection');
    life.close(4001, 'session expired or revoked');
    mock.timers.tick(CLOSE_GRACE_MS / 2);
    ws.emit('close');
    assert.equal(life.timers.size, 0);
    mock.timers.tick(CLOSE_GRACE_MS * 10);
    assert.deepEqual(ws.calls, ['close 4001'], 'never terminated');
  });
});
