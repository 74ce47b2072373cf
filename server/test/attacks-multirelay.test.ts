// Attacks on several relays sharing Redis, against the real relay processes and a real
// redis-server: a client id is one session's across every relay, the lease is released only by
// its holder, and re-registering a robot ends the connection that used the old password.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { waitFor } from '../../common/wait.ts';
import { Peer, registerRobot, robotAuth, sessionFor, startRedis, startRelay, stopAll, tempDir, type RelayProc } from './helpers.ts';

after(stopAll);

/** Two relays on one fresh redis-server, or null when redis-server is not installed. */
async function twoRelays(): Promise<[RelayProc, RelayProc] | null> {
  const redis = await startRedis();
  if (!redis) return null;
  const dataDir = tempDir();
  return [await startRelay({ redisUrl: redis.url, dataDir }), await startRelay({ redisUrl: redis.url, dataDir })];
}

/** Opens a client socket; resolves with the Peer once welcomed, or with the close code when refused. */
async function join(base: string, id: string, token: string): Promise<{ peer: Peer; refused: number | null }> {
  const peer = await Peer.open(`${base}/ws/client/${id}?token=${token}`);
  const outcome = await Promise.race([peer.next((f) => f.type === 'welcome', 5000).then(() => null), peer.closed.then((c) => c.code)]);
  return { peer, refused: outcome };
}

describe('several relays: client ids and the lease', () => {
  test("a client on another relay cannot take the driver's client id, and a viewer cannot release the lease", async (t) => {
    const relays = await twoRelays();
    if (!relays) return t.skip('redis-server is not installed (apt-get install redis-server)');
    const [a, b] = relays;
    const pw = await registerRobot(a.url, 'twin');
    const robot = await Peer.open(`${a.ws}/ws/robot/twin`, robotAuth('twin', pw));
    const driver = (await join(a.ws, 'drv-owner', await sessionFor(a.url, 'twin', 'driver'))).peer;
    driver.send({ v: 1, type: 'lease', action: 'take' });
    await driver.next((f) => f.type === 'lease' && f.you === true);
    const taken = driver.frames.length;

    // The driver's id is in every lease frame; a viewer and a driver-role session on relay B
    // connect with it. Each is refused: the id belongs to the driver's session on every relay.
    for (const role of ['viewer', 'driver'] as const) {
      const twin = await join(b.ws, 'drv-owner', await sessionFor(b.url, 'twin', role));
      let lost = '';
      if (twin.refused === null) {
        // Admitted (the hole): it releases the driver's lease, which the driver is then told.
        twin.peer.send({ v: 1, type: 'lease', action: 'release' });
        lost = await driver.fresh((f) => f.type === 'lease' && f.you === false).then(() => ' and it released the lease', () => '');
      }
      assert.equal(twin.refused, 4021, `a ${role} on relay B reusing the driver's id is closed as a duplicate (it was admitted${lost})`);
    }

    // A viewer on B with its own id asks to release: refused, and the lease stays where it was.
    const viewer = (await join(b.ws, 'watcher', await sessionFor(b.url, 'twin', 'viewer'))).peer;
    viewer.send({ v: 1, type: 'lease', action: 'release' });
    assert.equal((await viewer.next((f) => f.type === 'error' && f.ref === 'lease')).code, 'forbidden');
    const late = (await join(b.ws, 'late-viewer', await sessionFor(b.url, 'twin', 'viewer'))).peer;
    assert.equal((await late.next((f) => f.type === 'welcome')).driver, 'drv-owner', 'the driver still holds the lease');
    assert.ok(!driver.frames.slice(taken).some((f) => f.type === 'lease' && f.you === false), 'the driver never lost the lease');
    assert.ok(!robot.frames.some((f) => f.type === 'forward' && (f.msg as { type: string }).type === 'drive'), 'no drive from the twin reached the robot');

    // The legitimate path: the holder releases, a driver on B takes it.
    driver.send({ v: 1, type: 'lease', action: 'release' });
    await driver.next((f) => f.type === 'lease' && f.driver === null);
    const next = (await join(b.ws, 'drv-next', await sessionFor(b.url, 'twin', 'driver'))).peer;
    next.send({ v: 1, type: 'lease', action: 'take' });
    await next.next((f) => f.type === 'lease' && f.you === true);
    // Once its owner has left, a client id is free again (the claim lapses with its socket).
    driver.close();
    const again = await waitFor('the released id to be usable by another session', async () => {
      const j = await join(b.ws, 'drv-owner', await sessionFor(b.url, 'twin', 'viewer'));
      if (j.refused !== null) j.peer.close();
      return j;
    }, (j) => j.refused === null, { timeoutMs: 10_000, everyMs: 250 });
    for (const p of [robot, viewer, late, next, again.peer]) p.close();
  });
});
