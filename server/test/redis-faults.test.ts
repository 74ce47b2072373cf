// Redis SIGKILLed under two running relays: both say so on /health (503 naming Redis) instead of
// pretending; when Redis comes back on its append-only file (as compose runs it), the relays
// recover by themselves and the robot's credentials and sessions issued before the crash still work.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { waitFor } from '../../common/wait.ts';
import { Peer, admin, api, freePort, kill, launch, registerRobot, robotAuth, sessionFor, startRelay, stopAll, tempDir } from './helpers.ts';

after(stopAll);

/** /health of one relay (as the admin: the reason is not public) as a short summary (what a timed-out wait reports as last seen). */
const health = async (url: string) => { const h = await api(url, 'GET', '/health', undefined, admin); return { status: h.status, text: h.text }; };

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
    // A dropped Redis connection is seen at once; the health check itself gives up after 1 s.
    const h = await waitFor(`relay :${relay.port} to report Redis down on /health`, () => health(relay.url), (r) => r.status === 503, { timeoutMs: 10_000, everyMs: 100 });
    assert.match(h.text, /redis/i, 'the reason names Redis');
  }
  console.log(`# both relays reported Redis down within ${Date.now() - killedAt} ms`);

  redis = await launch('redis-server', redisArgs, /Ready to accept connections/);
  const back = Date.now();
  // ioredis reconnects with a growing backoff (up to 2 s between tries) while Redis was down.
  for (const relay of [a, b]) await waitFor(`relay :${relay.port} healthy again`, () => health(relay.url), (r) => r.status === 200, { timeoutMs: 15_000, everyMs: 100 });
  console.log(`# both relays healthy again ${Date.now() - back} ms after Redis returned`);

  // State written before the crash survived: the robot logs in on B, the old session works on A.
  const robot = await Peer.open(`${b.ws}/ws/robot/sim`, robotAuth('sim', pw));
  const viewer = await Peer.open(`${a.ws}/ws/client/after-crash?token=${token}`);
  await viewer.next((f) => f.type === 'robot' && f.online === true);
  robot.close();
  viewer.close();
});
