// Scale-out: two relay processes sharing a real redis-server. A client on relay A drives a robot
// connected to relay B; sessions issued by one relay work on the other; the lease is shared.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Peer, api, kill, registerRobot, robotAuth, sessionFor, startRedis, startRelay, stopAll, tempDir, type RelayProc } from './helpers.ts';

let a: RelayProc;
let b: RelayProc;
let redisUrl: string | null = null;

before(async () => {
  const redis = await startRedis();
  if (!redis) return;
  redisUrl = redis.url;
  const env = { RELAY_LIMITS: JSON.stringify({ hostTtlMs: 1500 }) };
  a = await startRelay({ redisUrl, dataDir: tempDir(), env });
  b = await startRelay({ redisUrl, dataDir: tempDir(), env });
});
after(stopAll);

describe('two relays and Redis', () => {
  test('a client on relay A drives a robot on relay B, and the ack comes back', async (t) => {
    if (!redisUrl) return t.skip('redis-server is not installed (apt-get install redis-server)');
    assert.equal((await api(a.url, 'GET', '/health')).status, 200);
    const pw = await registerRobot(a.url, 'sim'); // registered on A, used on B: shared store
    const robot = await Peer.open(`${b.ws}/ws/robot/sim`, robotAuth('sim', pw));
    robot.ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as { type: string; client: string; msg: { type: string; seq?: number; t?: number } };
      if (f.type === 'forward' && f.msg.type === 'drive') {
        robot.send({ v: 1, type: 'to', client: f.client, msg: { v: 1, type: 'ack', seq: f.msg.seq, t: f.msg.t, result: 'applied' } });
      }
    });
    const token = await sessionFor(b.url, 'sim', 'driver'); // issued by B, accepted by A
    const c = await Peer.open(`${a.ws}/ws/client/remote-driver?token=${token}`);
    await c.next((f) => f.type === 'robot' && f.online === true);
    await robot.next((f) => f.type === 'client' && f.client === 'remote-driver');
    c.send({ v: 1, type: 'lease', action: 'take' });
    await c.next((f) => f.type === 'lease' && f.you === true);
    await robot.next((f) => f.type === 'driver' && f.client === 'remote-driver');
    const rtts: number[] = [];
    for (let seq = 1; seq <= 20; seq++) {
      const t0 = performance.now();
      c.send({ v: 1, type: 'drive', seq, left: 0.2, right: 0.2, ttl: 300, t: Date.now() });
      await c.fresh((f) => f.type === 'ack' && f.seq === seq);
      rtts.push(performance.now() - t0);
    }
    rtts.sort((x, y) => x - y);
    console.log(`# cross-relay round trip via Redis: p50 ${rtts[10]!.toFixed(2)} ms, max ${rtts[19]!.toFixed(2)} ms`);

    // The lease is shared: a driver on B cannot take it while A's client holds it.
    const t2 = await sessionFor(a.url, 'sim', 'driver');
    const other = await Peer.open(`${b.ws}/ws/client/local-driver?token=${t2}`);
    await other.next((f) => f.type === 'lease' && f.driver === 'remote-driver');
    other.send({ v: 1, type: 'lease', action: 'take' });
    assert.equal((await other.next((f) => f.type === 'error')).code, 'lease_held');

    // Telemetry from the robot on B reaches the client on A.
    robot.send({ v: 1, type: 'telemetry', battery: { voltage: 12, percentage: 90 }, motors: { left: 0, right: 0 }, serial: true, ts: 5 });
    await c.next((f) => f.type === 'telemetry');

    // The driver on A drops: the robot on B is told to stop, and B's client sees the lease free.
    // Both waits start before the close: the relay flushes both frames in one turn, in either order.
    const stopped = robot.fresh((f) => f.type === 'forward' && f.client === 'remote-driver' && (f.msg as { type: string }).type === 'stop');
    const freed = other.fresh((f) => f.type === 'lease' && f.driver === null);
    c.close();
    await stopped;
    await freed;

    // The robot drops: the client on the other relay is told.
    const watcher = await Peer.open(`${a.ws}/ws/client/watcher?token=${await sessionFor(a.url, 'sim', 'viewer')}`);
    await watcher.next((f) => f.type === 'robot' && f.online === true);
    robot.close();
    await watcher.fresh((f) => f.type === 'robot' && f.online === false);
    other.close(); watcher.close();
  });

  test('when the robot\'s relay dies without a word, clients on the other relay are told it is offline', async (t) => {
    if (!redisUrl) return t.skip('redis-server is not installed (apt-get install redis-server)');
    const pw = await registerRobot(a.url, 'lost');
    const robot = await Peer.open(`${b.ws}/ws/robot/lost`, robotAuth('lost', pw));
    const c = await Peer.open(`${a.ws}/ws/client/orphan?token=${await sessionFor(a.url, 'lost', 'viewer')}`);
    await c.next((f) => f.type === 'robot' && f.online === true);
    const t0 = Date.now();
    const offline = c.fresh((f) => f.type === 'robot' && f.online === false, 4000);
    await kill(b);
    await offline;
    console.log(`# robot on a killed relay reported offline after ${Date.now() - t0} ms`);
    robot.close(); c.close();
  });
});
