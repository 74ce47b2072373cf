// Attacks on the services inside the deployment: someone who reaches the compose network (or the
// host's ports) calls MediaMTX's API and metrics or Redis directly. MediaMTX runs with the repo's
// server/mediamtx.yml, Redis with compose.yaml's own command line, both behind the real relay.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import yaml from 'js-yaml';
import { waitFor } from '../../common/wait.ts';
import { ADMIN_KEY, admin, api, API_SECRET, freePort, launch, mediamtxPorts, registerRobot, sessionFor, startMediamtx, startRelay, stopAll, tempDir } from './helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const basic = (user: string, pw: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

interface Service { ports?: (string | { published?: string | number; target: number; protocol?: string })[]; networks?: string[] | Record<string, unknown>; environment?: Record<string, string>; command?: string[]; secrets?: string[] }
interface Compose { services: Record<string, Service>; networks?: Record<string, { internal?: boolean } | null>; secrets?: Record<string, { environment?: string }> }
const compose = yaml.load(readFileSync(join(ROOT, 'server/compose.yaml'), 'utf8')) as Compose;
const networksOf = (s: Service) => (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? { default: null }));
const isInternal = (net: string) => compose.networks?.[net]?.internal === true;
/** "host:container/proto" or the long form → "container/proto" of what the host publishes. */
const published = (s: Service) => (s.ports ?? []).map((p) => (typeof p === 'string' ? (/(\d+)(\/\w+)?$/.exec(p)!.slice(1).join('') || p) : `${p.target}/${p.protocol ?? 'tcp'}`).replace(/^(\d+)$/, '$1/tcp'));

after(stopAll);

describe('compose: nothing internal is reachable from outside', () => {
  test('only Caddy (80/443), MediaMTX media ports and the relay\'s drive-channel UDP range are published; API, metrics, pprof, Redis and the relay\'s HTTP are not', () => {
    const byService = Object.fromEntries(Object.entries(compose.services).map(([n, s]) => [n, published(s)]));
    assert.deepEqual(byService.caddy!.sort(), ['443/tcp', '443/udp', '80/tcp']);
    const media = new Set(['8554/tcp', '8322/tcp', '8189/udp', '8189/tcp']); // RTSP, RTSPS, WebRTC ICE
    for (const p of byService.mediamtx!) assert.ok(media.has(p), `mediamtx publishes ${p}, which is not a media port`);
    for (const name of ['redis', 'prometheus']) assert.deepEqual(byService[name], [], `${name} publishes ${byService[name]!.join(', ')}`);
    // The relay answers ICE for its drive datagram channel (server/relay/datagram.ts) on a UDP
    // range, as MediaMTX does for WebRTC; its HTTP and WebSocket stay behind Caddy.
    const range = compose.services.relay!.environment!.HAVATAR_RELAY_UDP_PORTS!;
    assert.deepEqual(compose.services.relay!.ports, [`${range}:${range}/udp`], 'the relay publishes its drive-channel UDP range and nothing else');
  });

  test('Redis and Prometheus sit only on internal networks, the relay too but for the network its UDP range is published on; MediaMTX reaches them there', () => {
    for (const name of ['redis', 'prometheus']) {
      const nets = networksOf(compose.services[name]!);
      assert.ok(nets.length > 0 && nets.every(isInternal), `${name} is on ${nets.join(', ')}: not all internal: true`);
    }
    assert.deepEqual(networksOf(compose.services.relay!).filter((n) => !isInternal(n)), ['default'], 'the relay leaves the internal networks only for `default`, where docker forwards its UDP range');
    assert.deepEqual(networksOf(compose.services.redis!).filter((n) => networksOf(compose.services.relay!).includes(n) && !isInternal(n)), [], 'Redis is not on the relay\'s public network');
    const shared = (a: string, b: string) => networksOf(compose.services[a]!).filter((n) => isInternal(n) && networksOf(compose.services[b]!).includes(n));
    assert.ok(shared('mediamtx', 'relay').length, 'mediamtx and the relay share an internal network');
    assert.ok(shared('relay', 'redis').length && shared('prometheus', 'mediamtx').length && shared('prometheus', 'relay').length);
    assert.ok(shared('caddy', 'relay').length, 'Caddy reaches the relay over an internal network');
    assert.deepEqual(networksOf(compose.services.redis!).filter((n) => networksOf(compose.services.caddy!).includes(n)), [], 'Caddy cannot reach Redis');
  });

  test('MediaMTX asks the relay about its API and metrics, pprof is off, Redis and the API need the generated secrets', () => {
    const mtx = yaml.load(readFileSync(join(ROOT, 'server/mediamtx.yml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(mtx.authHTTPExclude, [], 'no action is excluded from the relay\'s auth hook');
    assert.ok(mtx.pprof === false || mtx.pprof === 'no', 'pprof is off'); // YAML 1.2 reads MediaMTX's `no` as a string
    const env = compose.services.mediamtx!.environment ?? {};
    assert.deepEqual(Object.keys(env).filter((k) => /^MTX_(AUTHHTTPEXCLUDE|PPROF|AUTHMETHOD)/.test(k)), [], 'compose does not undo it');
    const relayEnv = compose.services.relay!.environment!;
    assert.match(relayEnv.MEDIAMTX_API_SECRET!, /^\$\{MEDIAMTX_API_SECRET:\?/);
    assert.match(relayEnv.REDIS_URL!, /^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]*\}@redis:6379$/);
    assert.ok(compose.services.redis!.command!.join(' ').includes('--requirepass ${REDIS_PASSWORD:?'), 'redis-server runs with requirepass');
    // Prometheus scrapes MediaMTX with the same secret, from a compose secret (not in its config file).
    const prom = yaml.load(readFileSync(join(ROOT, 'server/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; basic_auth?: { username: string; password_file: string } }[] };
    const job = prom.scrape_configs.find((j) => j.job_name === 'mediamtx')!;
    assert.equal(job.basic_auth?.username, 'havatar');
    const secret = /^\/run\/secrets\/(.+)$/.exec(job.basic_auth.password_file)?.[1];
    assert.ok(secret && compose.services.prometheus!.secrets?.includes(secret), 'the password file is a secret mounted into Prometheus');
    assert.equal(compose.secrets?.[secret]?.environment, 'MEDIAMTX_API_SECRET');
  });
});

describe('MediaMTX API and metrics (server/mediamtx.yml, real relay hook)', () => {
  test('without the internal credential: 401; with it: the relay\'s own calls and a scrape work', async () => {
    const ports = await mediamtxPorts();
    const relay = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${ports.api}` }); // with API_SECRET
    const mtx = await startMediamtx(`${relay.url}/mediamtx/auth`, ports);
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    const metricsUrl = `http://127.0.0.1:${ports.metrics}`;
    // The attacks: anonymous, a wrong password, a robot's password, an operator token as password.
    const pw = await registerRobot(relay.url, 'sim');
    const token = await sessionFor(relay.url, 'sim', 'driver');
    for (const headers of [{}, basic('havatar', 'wrong-secret-0123456789'), basic('sim', pw), basic('havatar', token), { Authorization: `Bearer ${token}` }]) {
      assert.equal((await api(apiUrl, 'GET', '/v3/paths/list', undefined, headers)).status, 401, `API with ${JSON.stringify(Object.keys(headers))}`);
      assert.equal((await api(apiUrl, 'POST', '/v3/config/global/patch', { pprof: true }, headers)).status, 401);
      assert.equal((await api(metricsUrl, 'GET', '/metrics', undefined, headers)).status, 401, 'metrics');
    }
    // The legitimate paths: the relay's /health calls the API with the secret; Prometheus scrapes.
    const auth = basic('havatar', API_SECRET);
    assert.equal((await api(apiUrl, 'GET', '/v3/paths/list', undefined, auth)).status, 200);
    const scrape = await api(metricsUrl, 'GET', '/metrics', undefined, auth);
    assert.equal(scrape.status, 200);
    assert.match(scrape.text, /^paths /m);
    assert.equal((await api(relay.url, 'GET', '/health')).status, 200);
    assert.ok(![...relay.lines, ...mtx.lines].some((l) => l.includes(API_SECRET)), 'the secret is never logged');

    // A relay deployed without the secret (an old .env): refused like anyone, and it says why.
    const old = await startRelay({ mediamtxApiUrl: apiUrl, env: { MEDIAMTX_API_SECRET: '' } });
    await waitFor('a warning at start', () => old.lines.some((l) => /MEDIAMTX_API_SECRET not set/.test(l)));
    const h = await api(old.url, 'GET', '/health', undefined, { 'X-Api-Key': ADMIN_KEY });
    assert.equal(h.status, 503);
    assert.match(String(h.json.msg), /refused the relay \(401\): check MEDIAMTX_API_SECRET/);
  });

  test('a real Prometheus with server/prometheus.yml\'s mediamtx job scrapes; the same job without basic_auth gets 401', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v prometheus']).status !== 0) return t.skip('prometheus is not installed (apt-get install prometheus)');
    const ports = await mediamtxPorts();
    const relay = await startRelay({ mediamtxApiUrl: `http://127.0.0.1:${ports.api}` });
    await startMediamtx(`${relay.url}/mediamtx/auth`, ports);
    const targets = await scrapeMediamtx(ports.metrics);
    assert.equal(targets.mediamtx!.health, 'up', targets.mediamtx!.lastError);
    assert.equal(targets['mediamtx-anonymous']!.health, 'down');
    assert.match(targets['mediamtx-anonymous']!.lastError, /401/);
  });
});

interface Target { labels: { job: string }; health: string; lastError: string }

/**
 * Runs Prometheus with compose's mediamtx scrape job (its target and password file moved to this
 * machine) beside a copy without basic_auth; resolves when both have been scraped once.
 */
async function scrapeMediamtx(metricsPort: number): Promise<Record<string, Target>> {
  const dir = tempDir('havatar-prom-');
  const prom = yaml.load(readFileSync(join(ROOT, 'server/prometheus.yml'), 'utf8')) as { global: Record<string, string>; scrape_configs: Record<string, unknown>[] };
  const job = prom.scrape_configs.find((j) => j.job_name === 'mediamtx')!;
  writeFileSync(join(dir, 'secret'), API_SECRET);
  const local = { ...job, static_configs: [{ targets: [`127.0.0.1:${metricsPort}`] }], basic_auth: { ...(job.basic_auth as object), password_file: join(dir, 'secret') } };
  const anonymous = { ...local, job_name: 'mediamtx-anonymous', basic_auth: undefined };
  writeFileSync(join(dir, 'prometheus.yml'), yaml.dump({ global: { ...prom.global, scrape_interval: '1s' }, scrape_configs: [local, JSON.parse(JSON.stringify(anonymous))] }));
  const port = await freePort();
  await launch('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], /Server is ready to receive web requests/, { timeoutMs: 30_000 });
  const seen = await waitFor('both mediamtx jobs scraped once', async () => {
    const r = await api(`http://127.0.0.1:${port}`, 'GET', '/api/v1/targets');
    const list = (r.json.data as { activeTargets: Target[] } | undefined)?.activeTargets ?? [];
    return list.filter((x) => x.health !== 'unknown');
  }, (list) => list.length === 2, { timeoutMs: 15_000, everyMs: 200 });
  return Object.fromEntries(seen.map((x) => [x.labels.job, x]));
}

/** redis-server's arguments as compose.yaml gives them (secrets filled in), on a loopback port here. */
function composeRedisArgs(password: string, port: number, dir: string): string[] {
  const [bin, ...args] = compose.services.redis!.command!;
  assert.equal(bin, 'redis-server');
  const filled = args.map((a) => a.replace(/\$\{REDIS_PASSWORD(:\?[^}]*)?\}/, password));
  return [...filled, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'no'];
}

/** One raw RESP command, as anything on the network could send it; resolves to the first reply line. */
function rawRedis(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`${cmd}\r\n`));
    s.once('data', (d) => { resolve(String(d).split('\r\n')[0]!); s.destroy(); });
    s.once('error', reject);
  });
}

describe('Redis (compose.yaml\'s command line, real redis-server)', () => {
  test('without the password Redis refuses anyone, the relay included; with it the relay works', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) return t.skip('redis-server is not installed (apt-get install redis-server)');
    const password = 'test-redis-password-0123456789';
    const port = await freePort();
    await launch('redis-server', composeRedisArgs(password, port, tempDir('havatar-redis-')), /Ready to accept connections/);
    assert.match(await rawRedis(port, 'KEYS *'), /^-NOAUTH/, 'an unauthenticated client is refused');
    assert.match(await rawRedis(port, `AUTH ${password}`), /^\+OK/);

    // A relay whose REDIS_URL lacks the password: refused, and it says what is missing.
    const bare = await startRelay({ redisUrl: `redis://127.0.0.1:${port}` });
    assert.equal((await api(bare.url, 'POST', '/api/robot/register', { robot: 'sim' }, admin)).status >= 500, true, 'the store is refused');
    assert.equal((await api(bare.url, 'GET', '/health')).status, 503);
    await waitFor('the relay to say REDIS_URL lacks the password', () => bare.lines.find((l) => /REDIS_URL/.test(l) && /password/.test(l)));
    assert.ok(!bare.lines.some((l) => l.includes(password)));

    const relay = await startRelay({ redisUrl: `redis://:${password}@127.0.0.1:${port}` });
    assert.equal((await api(relay.url, 'GET', '/health')).status, 200);
    await registerRobot(relay.url, 'sim');
    assert.ok(await sessionFor(relay.url, 'sim', 'viewer'));
    assert.ok(!relay.lines.some((l) => l.includes(password)), 'the password is never logged');
  });
});

describe('deploy-server.sh --env-only', () => {
  test('an existing .env gets the new secrets and keeps everything it had', () => {
    const dir = tempDir('havatar-env-');
    const envFile = join(dir, '.env');
    const old = '# Havatar server secrets\nHAVATAR_DOMAIN=robot.example.org\nADMIN_API_KEY=old-admin-key-0123456789\nPUBLIC_IP=203.0.113.7\nPUBLIC_IP_SAVED=203.0.113.7\nMY_NOTE=kept\n';
    writeFileSync(envFile, old, { mode: 0o600 });
    const run = () => spawnSync('bash', [join(ROOT, 'server/deploy-server.sh'), '--env-only'], { env: { ...process.env, HAVATAR_ENV_FILE: envFile }, encoding: 'utf8' });
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    const text = readFileSync(envFile, 'utf8');
    for (const line of old.split('\n').filter((l) => l && !l.startsWith('#'))) assert.ok(text.split('\n').includes(line), `kept: ${line}`);
    const get = (s: string, k: string) => new RegExp(`^${k}=(.+)$`, 'm').exec(s)?.[1];
    assert.match(get(text, 'MEDIAMTX_API_SECRET') ?? '', /^[A-Za-z0-9]{32,}$/);
    assert.match(get(text, 'REDIS_PASSWORD') ?? '', /^[A-Za-z0-9]{32,}$/);
    assert.match(r.stdout, /adding MEDIAMTX_API_SECRET .*\n.*adding REDIS_PASSWORD /);
    assert.ok(!r.stdout.includes(get(text, 'MEDIAMTX_API_SECRET')!) && !r.stdout.includes(get(text, 'REDIS_PASSWORD')!), 'secrets are not printed');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    // A second run changes nothing: the same secrets stay.
    assert.equal(run().status, 0);
    assert.equal(readFileSync(envFile, 'utf8'), text);
  });
});
