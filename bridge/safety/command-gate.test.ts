// Latest-wins and the command ttl, judged on an injected clock: exact at the boundaries, no waiting.
// The real-time test of the wiring (a late drive over a real WebSocket is acked expired) is
// bridge/test/safety.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandGate, MAX_TRANSIT_MS } from './command-gate.ts';

function gate() {
  let ms = 1_000_000;
  const g = new CommandGate(() => ms);
  return { g, at: (t: number) => { ms = t; } };
}

describe('CommandGate (injected clock)', () => {
  it('latest wins: a seq equal to or older than the last seen is superseded, per session', () => {
    const { g } = gate();
    assert.equal(g.admit('a', 5, 1000, 100, 1010), 'ok');
    assert.equal(g.admit('a', 5, 1000, 100, 1010), 'superseded');
    assert.equal(g.admit('a', 4, 1000, 100, 1010), 'superseded');
    assert.equal(g.admit('b', 1, 1000, 100, 1010), 'ok', 'another session keeps its own seq');
    assert.equal(g.admit('a', 6, 1020, 100, 1030), 'ok');
    assert.equal(g.isLatest('a', 6), true);
    assert.equal(g.isLatest('a', 5), false);
  });

  it('ttl: a command exactly ttl behind the session\'s best pace is applied, 1 ms more is expired', () => {
    const { g } = gate();
    // The first command sets the pace: arrival - t = 50 (the sender's clock offset plus transit).
    assert.equal(g.admit('a', 1, 1000, 100, 1050), 'ok');
    assert.equal(g.admit('a', 2, 1100, 100, 1250), 'ok', '100 ms late: still within ttl 100');
    assert.equal(g.admit('a', 3, 1200, 100, 1351), 'expired', '101 ms late');
    assert.equal(g.admit('a', 4, 1300, 40, 1390), 'ok', '40 ms late, ttl 40');
    assert.equal(g.admit('a', 5, 1400, 40, 1491), 'expired', '41 ms late, ttl 40');
  });

  it('lateness does not depend on the sender\'s clock: only on its own best pace', () => {
    const { g } = gate();
    // A phone whose clock is 3 hours behind ours.
    const skew = -3 * 3600_000;
    assert.equal(g.admit('a', 1, 1000 + skew, 100, 1020), 'ok');
    assert.equal(g.admit('a', 2, 1100 + skew, 100, 1220), 'ok');
    assert.equal(g.admit('a', 3, 1200 + skew, 100, 1321), 'expired');
  });

  it('a faster arrival becomes the pace the next ones are judged by', () => {
    const { g } = gate();
    assert.equal(g.admit('a', 1, 1000, 100, 1080), 'ok');
    assert.equal(g.admit('a', 2, 1100, 100, 1110), 'ok', 'transit 10: the new best');
    assert.equal(g.admit('a', 3, 1200, 100, 1310), 'ok', '100 behind the new pace');
    assert.equal(g.admit('a', 4, 1300, 100, 1411), 'expired', '101 behind the new pace (though only 31 behind the first)');
  });

  it('an expired seq still counts as seen: an older command cannot slip in after it', () => {
    const { g } = gate();
    assert.equal(g.admit('a', 1, 1000, 100, 1000), 'ok');
    assert.equal(g.admit('a', 5, 1100, 100, 1500), 'expired');
    assert.equal(g.admit('a', 4, 1400, 100, 1400), 'superseded');
    assert.equal(g.admit('a', 6, 1500, 100, 1500), 'ok');
  });

  it('stillFresh: fresh until exactly ttl after arrival, stale 1 ms later', () => {
    const { g, at } = gate();
    at(2000);
    assert.equal(g.stillFresh(1900, 100), true);
    at(2001);
    assert.equal(g.stillFresh(1900, 100), false);
  });

  it('forget() drops the session\'s pace and last seq', () => {
    const { g } = gate();
    assert.equal(g.admit('a', 9, 1000, 100, 1000), 'ok');
    g.forget('a');
    assert.equal(g.isLatest('a', 9), false);
    assert.equal(g.admit('a', 1, 5000, 100, 9000), 'ok', 'a new connection starts a new pace and new seqs');
  });
  it('ageOf: how long ago a message was sent, against the session\'s best pace; a faster one becomes the pace', () => {
    const { g } = gate();
    assert.equal(g.ageOf('a', 1000, 1050), 0, 'no pace yet: counts as sent now');
    assert.equal(g.admit('a', 1, 1000, 300, 1050), 'ok'); // pace: 50
    assert.equal(g.ageOf('a', 1100, 1150), 0, 'on pace');
    assert.equal(g.ageOf('a', 1200, 1420), 170, 'a heartbeat 170 ms behind the pace');
    assert.equal(g.ageOf('a', 1500, 1520), 0, 'ahead of the pace: the new pace (20)');
    assert.equal(g.admit('a', 2, 1600, 300, 1650), 'ok');
    assert.equal(g.ageOf('a', 1600, 1650), 30, 'judged by the new pace');
  });

  it('a reported round trip adds half of it to every age: the pace alone is one transit short', () => {
    const { g } = gate();
    // Sent at 1000, arrived at 1040: 40 ms of transit the pace cannot see (it becomes the pace).
    assert.equal(g.admit('a', 1, 1000, 300, 1040), 'ok');
    assert.equal(g.ageOf('a', 1000, 1040), 0, 'without a round trip: counted as sent on arrival');
    g.noteRoundTrip('a', 80);
    assert.equal(g.ageOf('a', 1000, 1040), 40, 'half the 80 ms round trip: sent 40 ms ago');
    g.noteRoundTrip('a', 120);
    assert.equal(g.ageOf('a', 1000, 1040), 40, 'the smallest round trip reported is kept');
    g.noteRoundTrip('a', 60);
    assert.equal(g.ageOf('a', 1000, 1040), 30);
    assert.equal(g.ageOf('b', 1000, 1040), 0, 'per session');
  });

  it('the transit counts against the ttl, and is capped so a wrong round trip leaves the robot drivable', () => {
    const { g } = gate();
    g.noteRoundTrip('a', 60);
    assert.equal(g.ageOf('a', 1000, 1030), 30, 'no pace yet: the transit alone');
    assert.equal(g.admit('a', 1, 1000, 100, 1030), 'ok', 'pace set');
    assert.equal(g.admit('a', 2, 1100, 100, 1200), 'ok', '70 behind the pace + 30 transit = 100');
    assert.equal(g.admit('a', 3, 1200, 100, 1301), 'expired', '101');
    g.noteRoundTrip('b', 10_000);
    assert.equal(g.admit('b', 1, 1000, 300, 1000), 'ok');
    assert.equal(g.ageOf('b', 1000, 1000), MAX_TRANSIT_MS);
    g.noteRoundTrip('b', -5);
    assert.equal(g.ageOf('b', 1000, 1000), 0, 'a negative round trip counts as none');
    g.forget('b');
    assert.equal(g.ageOf('b', 1000, 1000), 0, 'forget() drops the transit too');
  });
});
