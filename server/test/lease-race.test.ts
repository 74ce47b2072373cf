// The lease race against the real relay process: a driver-role client that takes control
// right after the driver's socket closes must get the lease or a clear refusal, never silence; and
// once the relay has seen the driver go, a retry always gets the lease.
// Each round closes the driver's socket and sends `lease take` from another client in the same turn
// of this event loop (no wait between them), in both orders and with both a clean close and a
// dropped socket, so the relay sees the close and the take in either order. The rounds chain: the
// taker is the next round's driver, so a relay that lost track of its driver shows in the next
// round (no stop for the robot, a lease nobody can take). Run on one relay with the file store, one
// relay with the Redis store (lease calls are real round trips that interleave), and two relays on
// one Redis with the driver and the taker on different relays (the lease news of one relay reaches
// the other over pub/sub, another connection than the store's answers).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { within } from '../../common/wait.ts';
import { Peer, registerRobot, robotAuth, sessionFor, startRedis, startRelay, stopAll, tempDir, type RelayProc } from './helpers.ts';

after(stopAll);

const ROUNDS = 40;
/** The relay answers a take from the frame's own handler: far below its 1 s tick and the lease's 10 s idle time. */
const ANSWER_MS = 2000;

type Frame = Record<string, unknown>;
const isLease = (f: Frame) => f.type === 'lease';
const refusal = (f: Frame) => f.type === 'error' && f.ref === 'lease';
const isStopFrom = (id: string) => (f: Frame) => f.type === 'forward' && f.client === id && (f.msg as { type: string }).type === 'stop';

async function rounds(relays: [RelayProc, RelayProc]): Promise<Record<string, number>> {
  const pw = await registerRobot(relays[0].url, 'sim');
  const robot = await Peer.open(`${relays[0].ws}/ws/robot/sim`, robotAuth('sim', pw));
  const tokens = [await sessionFor(relays[0].url, 'sim', 'driver'), await sessionFor(relays[1].url, 'sim', 'driver')];
  const open = async (i: number) => {
    const p = await Peer.open(`${relays[i % 2]!.ws}/ws/client/c-${i}?token=${tokens[i % 2]}`);
    await p.next((f) => f.type === 'welcome');
    return p;
  };
  const outcomes: Record<string, number> = {};
  let driver = await open(0);
  let driverId = 'c-0';
  driver.send({ v: 1, type: 'lease', action: 'take' });
  let won = await driver.next((f) => isLease(f) && f.you === true);
  for (let i = 0; i < ROUNDS; i++) {
    const takerId = `c-${i + 1}`;
    const taker = await open(i + 1);
    await taker.next((f) => isLease(f) && f.driver === driverId);
    // While it held the lease, the driver was never told that someone else (or nobody) drives.
    const told = driver.frames.slice(driver.frames.indexOf(won) + 1).filter(isLease);
    assert.ok(told.every((f) => f.driver === driverId), `round ${i}: ${driverId} holds the lease but was told ${JSON.stringify(told)}`);

    const drop = i % 2 === 0; // a dropped socket (no close frame) or a clean close
    const takeFirst = i % 4 >= 2; // the take leaves before or after the close
    const answer = taker.fresh((f) => (isLease(f) && f.driver === takerId) || refusal(f), ANSWER_MS);
    const stopped = robot.fresh(isStopFrom(driverId), ANSWER_MS);
    const goodbye = () => (drop ? driver.close() : driver.ws.close(1000, 'done'));
    if (takeFirst) { taker.send({ v: 1, type: 'lease', action: 'take' }); goodbye(); }
    else { goodbye(); taker.send({ v: 1, type: 'lease', action: 'take' }); }
    const how = `${drop ? 'dropped' : 'closed'}, take ${takeFirst ? 'before' : 'after'} the close`;
    const first = await within(`round ${i} (${how}): ${takerId}'s answer to lease take (a lease naming it or an error)`, answer, ANSWER_MS + 500)
      .catch((err: Error) => { throw new Error(`${err.message}; ${takerId} saw ${JSON.stringify(taker.frames.slice(-4))}`); });
    let outcome: string;
    if (refusal(first)) {
      assert.equal(first.code, 'lease_held', `round ${i}: ${JSON.stringify(first)}`);
      // Refused while the store still had the driver. The relay tells everyone when the lease is
      // free (with two relays that news can even overtake the refusal: it comes over pub/sub, the
      // refusal over the store's connection), and a retry after that gets it.
      const latest = () => [...taker.frames].reverse().find(isLease);
      if (latest()?.driver !== null) {
        await within(`round ${i} (${how}): the relay telling ${takerId} the lease is free after ${driverId} left`,
          taker.fresh((f) => isLease(f) && f.driver === null, ANSWER_MS), ANSWER_MS + 500)
          .catch((err: Error) => { throw new Error(`${err.message}; ${takerId} saw ${JSON.stringify(taker.frames.slice(-4))}`); });
      }
      taker.send({ v: 1, type: 'lease', action: 'take' });
      won = await taker.fresh((f) => (isLease(f) && f.driver === takerId) || refusal(f), ANSWER_MS);
      assert.ok(isLease(won) && won.you === true, `round ${i}: the retry after the driver left got ${JSON.stringify(won)}`);
      outcome = 'refused, then the retry got the lease';
    } else {
      assert.equal(first.you, true, `round ${i}: ${JSON.stringify(first)}`);
      won = first;
      outcome = 'got the lease at once';
    }
    // The driver's socket closing always stops the robot, and the robot learns who drives now.
    await within(`round ${i} (${how}): the stop for the robot on ${driverId}'s behalf`, stopped, ANSWER_MS + 500);
    await robot.next((f) => f.type === 'driver' && f.client === takerId);
    await driver.closed;
    const key = `${how}: ${outcome}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    [driver, driverId] = [taker, takerId];
  }
  driver.close();
  robot.close();
  return outcomes;
}

describe('taking the lease right after the driver\'s socket closes', () => {
  test('one relay, file store: the taker gets the lease or lease_held, never silence; a retry after the driver left gets it', async () => {
    const relay = await startRelay();
    console.log(`# one relay, file store, ${ROUNDS} rounds: ${JSON.stringify(await rounds([relay, relay]))}`);
  });

  test('one relay, Redis store: the same', async (t) => {
    const redis = await startRedis();
    if (!redis) return t.skip('redis-server is not installed (apt-get install redis-server)');
    const relay = await startRelay({ redisUrl: redis.url, dataDir: tempDir() });
    console.log(`# one relay, Redis store, ${ROUNDS} rounds: ${JSON.stringify(await rounds([relay, relay]))}`);
  });

  test('two relays on one Redis, the driver on one and the taker on the other: the same', async (t) => {
    const redis = await startRedis();
    if (!redis) return t.skip('redis-server is not installed (apt-get install redis-server)');
    const x = await startRelay({ redisUrl: redis.url, dataDir: tempDir() });
    const y = await startRelay({ redisUrl: redis.url, dataDir: tempDir() });
    console.log(`# two relays, ${ROUNDS} rounds: ${JSON.stringify(await rounds([x, y]))}`);
  });
});
