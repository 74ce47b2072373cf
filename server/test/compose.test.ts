// server/compose.yaml without Docker: valid against the Compose Specification's JSON schema
// (vendored in server/schema/, validated with ajv), every service with a health check and rotated
// logs, and the health checks themselves run here, as compose would run them in the containers,
// against the real relay, MediaMTX, Caddy, Redis and Prometheus (only the address differs). Grafana
// and Alertmanager are not installed here: their checks are the documented endpoints of those
// images, checked for shape only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import yaml from 'js-yaml';
import { freePort, kill, launch, startMediamtx, startRelay, stopAll, tempDir } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period?: string };
  logging?: { driver: string; options: Record<string, string> };
}
const composeText = readFileSync(join(ROOT, 'server/compose.yaml'), 'utf8');
const compose = yaml.load(composeText) as { services: Record<string, Service> };

/** The schema's validator. Its $schema names draft-07 by its https address, which ajv knows by the http one. */
function composeValidator() {
  const schema = JSON.parse(readFileSync(join(ROOT, 'server/schema/compose-spec.json'), 'utf8')) as { $schema: string };
  const draft7 = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-07.json') as Record<string, unknown>;
  // Union types ("type": ["string", "number"]) are how the spec allows `${VAR}` beside numbers.
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
  ajv.addMetaSchema({ ...draft7, $id: schema.$schema });
  return ajv.compile(schema);
}

describe('compose.yaml against the Compose Specification', () => {
  const validate = composeValidator();

  test('it validates', () => {
    assert.equal(validate(yaml.load(composeText)), true, JSON.stringify(validate.errors, null, 2));
  });

  test('the validator refuses what compose would: an unknown key, an interval without its unit, ports that are not a list', () => {
    const broken = (edit: (c: { services: Record<string, Record<string, unknown>> }) => void) => {
      const c = yaml.load(composeText) as { services: Record<string, Record<string, unknown>> };
      edit(c);
      return validate(c) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`);
    };
    assert.ok(broken((c) => { c.services.relay!.healthchek = {}; }).some((e) => e.includes('must NOT have additional properties')));
    assert.ok(broken((c) => { (c.services.redis!.healthcheck as Record<string, unknown>).interval = 15; }).some((e) => e.startsWith('/services/redis/healthcheck/interval')));
    assert.ok(broken((c) => { c.services.caddy!.ports = 'all'; }).some((e) => e.startsWith('/services/caddy/ports')));
  });

  test('every service has a health check and rotated json-file logs', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const hc = s.healthcheck;
      assert.ok(hc && ['CMD', 'CMD-SHELL'].includes(hc.test[0]!), `${name}: healthcheck.test runs a command`);
      assert.ok(hc.interval && hc.timeout && hc.retries > 0, `${name}: interval, timeout and retries`);
      assert.equal(s.logging?.driver, 'json-file', `${name}: logging`);
      assert.match(s.logging.options['max-size'] ?? '', /^\d+[km]$/, `${name}: max-size`);
      assert.ok(Number(s.logging.options['max-file']) >= 1, `${name}: max-file`);
    }
    // MediaMTX's plain image is its binary alone: the check needs the Alpine (-ffmpeg) variant's wget.
    assert.match(compose.services.mediamtx!.image!, /^bluenviron\/mediamtx:[\d.]+-ffmpeg$/);
  });
});

/**
 * Runs a service's health check here: its command with compose's address (host:port in the
 * container) swapped for the one the real process listens on in this test.
 */
function runCheck(service: string, swap: [string, string], env: Record<string, string> = {}): { ok: boolean; out: string } {
  const [kind, ...rest] = compose.services[service]!.healthcheck!.test;
  const args = rest.map((a) => a.replaceAll(swap[0], swap[1]));
  assert.ok(args.join(' ') !== rest.join(' '), `${service}: ${swap[0]} is in its check`);
  const [cmd, ...argv] = kind === 'CMD-SHELL' ? ['sh', '-c', args[0]!] : args;
  const r = spawnSync(cmd!, argv, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: `${cmd} ${argv.join(' ')} → ${r.status}: ${r.stdout}${r.stderr}` };
}
const installed = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('the health checks, run against the real services', () => {
  after(stopAll);

  test('relay: healthy while /health answers 200', async () => {
    const relay = await startRelay();
    const check = runCheck('relay', ['127.0.0.1:3000', `127.0.0.1:${relay.port}`]);
    assert.ok(check.ok, check.out);
    await kill(relay);
    assert.equal(runCheck('relay', ['127.0.0.1:3000', `127.0.0.1:${relay.port}`]).ok, false, 'unhealthy once it is gone');
  });

  test('MediaMTX: healthy without asking the auth hook (relay down), unhealthy once it is gone', async (t) => {
    if (!installed('wget')) return t.skip('wget is not installed (the images have busybox wget)');
    // The hook's address answers nothing: a check that needed the relay would fail.
    const mtx = await startMediamtx(`http://127.0.0.1:${await freePort()}/mediamtx/auth`);
    const swap: [string, string] = ['127.0.0.1:8889', `127.0.0.1:${mtx.webrtc}`];
    const check = runCheck('mediamtx', swap);
    assert.ok(check.ok, check.out);
    await kill(mtx);
    assert.equal(runCheck('mediamtx', swap).ok, false);
  });

  test('Redis (compose\'s command line): PONG with the password from REDISCLI_AUTH, unhealthy with a wrong one', async (t) => {
    if (!installed('redis-server') || !installed('redis-cli')) return t.skip('redis-server is not installed (apt-get install redis-server)');
    const password = 'test-redis-password-0123456789';
    const port = await freePort();
    const [, ...args] = compose.services.redis!.command!;
    const filled = args.map((a) => a.replace(/\$\{REDIS_PASSWORD(:\?[^}]*)?\}/, password));
    await launch('redis-server', [...filled, '--port', String(port), '--bind', '127.0.0.1', '--dir', tempDir('havatar-redis-'), '--appendonly', 'no'], /Ready to accept connections/);
    // compose gives the container REDISCLI_AUTH from the same variable as --requirepass.
    assert.match(compose.services.redis!.environment!.REDISCLI_AUTH!, /^\$\{REDIS_PASSWORD:\?/);
    const swap: [string, string] = ['redis-cli', `redis-cli -p ${port}`];
    const check = runCheck('redis', swap, { REDISCLI_AUTH: password });
    assert.ok(check.ok, check.out);
    assert.equal(runCheck('redis', swap, { REDISCLI_AUTH: 'wrong' }).ok, false);
  });

  test('Caddy (server/Caddyfile): its admin API answers once the config is loaded', async (t) => {
    if (!installed('caddy') || !installed('wget')) return t.skip('caddy or wget is not installed');
    const admin = await freePort();
    const dir = tempDir('havatar-caddy-');
    await launch('caddy', ['run', '--adapter', 'caddyfile', '--config', join(ROOT, 'server/Caddyfile')], /serving initial configuration|server running/, {
      env: { HAVATAR_DOMAIN: `http://127.0.0.1:${await freePort()}`, CADDY_ADMIN: `localhost:${admin}`, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, APP_ROOT: dir },
    });
    const check = runCheck('caddy', ['localhost:2019', `localhost:${admin}`]);
    assert.ok(check.ok, check.out);
  });

  test('Prometheus: /-/healthy', async (t) => {
    if (!installed('prometheus') || !installed('wget')) return t.skip('prometheus or wget is not installed (apt-get install prometheus)');
    const dir = tempDir('havatar-prom-');
    writeFileSync(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 15s }\n');
    const port = await freePort();
    await launch('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], /Server is ready to receive web requests/, { timeoutMs: 30_000 });
    const check = runCheck('prometheus', ['127.0.0.1:9090', `127.0.0.1:${port}`]);
    assert.ok(check.ok, check.out);
  });

  test('Grafana and Alertmanager: their images\' own health endpoints', () => {
    assert.ok(compose.services.grafana!.healthcheck!.test.includes('http://127.0.0.1:3000/api/health'));
    assert.ok(compose.services.alertmanager!.healthcheck!.test.includes('http://127.0.0.1:9093/-/healthy'));
  });
});
