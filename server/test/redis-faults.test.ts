// Redis SIGKILLed under two running relays: both say so on /health (503 naming Redis) instead of
// pretending; when Redis comes back on its append-only file (as compose runs it), the relays
// recover by themselves and the robot's credentials and sessions issued before the crash still work.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { Peer, api, freePort, kill, launch, registerRobot, robotAuth, sessionFor, startRelay, stopAll, tempDir } from './helpers.ts';

after(stopAll);

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('Redis killed: relays report it; Redis back: they recover and earlier credentials still work', async (t) => {
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) return t.skip('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  const dir = tempDir('havatar-redis-');
  const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', dir];
  let redis = await launch('redis-server', redisArgs, /Ready to accept connections/);
  const redisUrl = `redis://127.0.0.1:${port}`;
  const a = await startRelay({ redisUrl, dataDir: tempDir() });
  const b = await startRelay({ redisUrl, dataDir: tempDir() });
  const pw = await registerRobot(a.url, 'sim');
  const token = await sessionFor(a.url, 'sim', 'viewer');

  await kill(redis);
  const killedAt = Date.now();
  for (const relay of [a, b]) {
    const h = await until('/health 503', () => api(relay.url, 'GET', '/health'), (r) => r.status === 503, 10_000);
    assert.match(h.text, /redis/i, 'the reason names Redis');
  }
  console.log(`# both relays reported Redis down within ${Date.now() - killedAt} ms`);

  redis = await launch('redis-server', redisArgs, /Ready to accept connections/);
  const back = Date.now();
  for (const relay of [a, b]) await until('/health 200', () => api(relay.url, 'GET', '/health'), (r) => r.status === 200, 15_000);
  console.log(`# both relays healthy again ${Date.now() - back} ms after Redis returned`);

  // State written before the crash survived: the robot logs in on B, the old session works on A.
  const robot = await Peer.open(`${b.ws}/ws/robot/sim`, robotAuth('sim', pw));
  const viewer = await Peer.open(`${a.ws}/ws/client/after-crash?token=${token}`);
  await viewer.next((f) => f.type === 'robot' && f.online === true);
  robot.close();
  viewer.close();
});
