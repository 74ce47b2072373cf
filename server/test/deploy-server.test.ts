// server/deploy-server.sh end to end without Docker: `--dry-run` on a copy of the script and
// compose.yaml in a temporary directory. Checked: the .env it writes (mode 600, every variable
// compose.yaml requires, the domain and address given, secrets that are never printed), the exact
// docker/compose commands of steps 3-5 it would run, registration only on a first run, re-runs that
// keep the secrets, and refusals (bad input, a compose variable .env lacks) that change nothing.
// Its shellcheck is in scripts/shellcheck.test.ts; --env-only on an old .env in attacks-internal.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { stopAll, tempDir } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
after(stopAll);

/** A server/ directory of its own: the script and compose.yaml, as a checkout has them. */
function deployDir(): string {
  const server = join(tempDir('havatar-deploy-'), 'server');
  mkdirSync(server);
  for (const f of ['deploy-server.sh', 'compose.yaml']) copyFileSync(join(ROOT, 'server', f), join(server, f));
  return server;
}
function deploy(server: string, args: string[]) {
  const r = spawnSync('bash', [join(server, 'deploy-server.sh'), ...args], { encoding: 'utf8', env: { ...process.env, HAVATAR_ENV_FILE: '' }, timeout: 30_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}
const envOf = (server: string) => Object.fromEntries(readFileSync(join(server, '.env'), 'utf8').split('\n')
  .filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const requiredByCompose = () => [...new Set([...readFileSync(join(ROOT, 'server/compose.yaml'), 'utf8').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):\?/g)].map((m) => m[1]!))];
const ARGS = ['--dry-run', '--domain', 'robot.example.org', '--public-ip', '203.0.113.7', '--robot', 'tank-1', '--role', 'viewer', '--ttl', '2h'];

describe('deploy-server.sh --dry-run', () => {
  test('first run: writes .env with everything compose needs, prints steps 3-5 instead of running them', () => {
    const server = deployDir();
    const r = deploy(server, ARGS);
    assert.equal(r.status, 0, r.err + r.out);

    // Files: .env only, mode 600 (the marker is not created on a dry run).
    assert.deepEqual(readdirSync(server).sort(), ['.env', 'compose.yaml', 'deploy-server.sh']);
    assert.equal(statSync(join(server, '.env')).mode & 0o777, 0o600);
    const env = envOf(server);
    assert.equal(env.HAVATAR_DOMAIN, 'robot.example.org');
    assert.equal(env.PUBLIC_IP, '203.0.113.7');
    for (const name of requiredByCompose()) assert.ok(env[name], `compose.yaml requires ${name}; .env sets it`);
    for (const name of ['ADMIN_API_KEY', 'MEDIAMTX_AUTH_SECRET', 'MEDIAMTX_API_SECRET', 'REDIS_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
      assert.match(env[name]!, /^[A-Za-z0-9]{32,}$/, name);
      assert.ok(!r.out.includes(env[name]!) && !r.err.includes(env[name]!), `${name} is not printed`);
    }

    // What a real run would need and this machine may lack is said, not fatal: here no app is built.
    assert.match(r.out, /\(dry run\) a real run would stop here: the app is not built/);
    // The commands, in order, exactly as a real run would give them to Docker.
    const compose = `docker compose --project-directory ${server} -f ${server}/compose.yaml --env-file ${server}/.env`;
    const planned = r.out.split('\n').filter((l) => l.startsWith('deploy: (dry run) would')).map((l) => l.replace(/ \(MEDIAMTX_API_SECRET, ALERT_WEBHOOK_URL from .*\)$/, ''));
    assert.deepEqual(planned, [
      `deploy: (dry run) would run: ${compose} config --quiet`,
      `deploy: (dry run) would run: ${compose} up -d --build --remove-orphans`,
      'deploy: (dry run) would wait up to 120s for https://robot.example.org/health to answer 200',
      `deploy: (dry run) would run: ${compose} exec -T relay node --import tsx server/relay/main.ts register --robot tank-1`,
      `deploy: (dry run) would create ${server}/.registered-tank-1`,
      `deploy: (dry run) would run: ${compose} exec -T relay node --import tsx server/relay/main.ts invite --robot tank-1 --role viewer --ttl 2h`,
    ]);
  });

  test('a re-run keeps the secrets, and a robot registered before is not registered again', () => {
    const server = deployDir();
    assert.equal(deploy(server, ARGS).status, 0);
    const first = readFileSync(join(server, '.env'), 'utf8');
    writeFileSync(join(server, '.registered-tank-1'), '');
    const again = deploy(server, ['--dry-run', '--robot', 'tank-1']); // the domain comes from .env now
    assert.equal(again.status, 0, again.err);
    assert.equal(readFileSync(join(server, '.env'), 'utf8'), first);
    assert.match(again.out, /keeping the secrets in/);
    assert.doesNotMatch(again.out, /register --robot/);
    assert.match(again.out, /invite --robot tank-1 --role driver --ttl 24h/);
  });

  test('bad input is refused with a clear message and writes nothing', () => {
    const server = deployDir();
    for (const [args, message] of [
      [['--dry-run', '--domain', 'robot.example.org', '--robot', 'tank 1!'], /--robot must be 1-64 of/],
      [['--dry-run', '--domain', 'robot.example.org', '--role', 'admin'], /--role must be driver or viewer/],
      [['--dry-run', '--public-ip', '203.0.113.7'], /--domain is required on the first run/],
      [['--dry-run', '--domain', 'robot.example.org/evil', '--public-ip', '203.0.113.7'], /--domain must be a host name/],
    ] as const) {
      const r = deploy(server, [...args]);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.out}`);
      assert.match(r.err, message);
    }
    assert.deepEqual(readdirSync(server).sort(), ['compose.yaml', 'deploy-server.sh']);
  });

  test('the alerts profile without a webhook URL is refused before Docker; with one it goes ahead', () => {
    const server = deployDir();
    assert.equal(deploy(server, ARGS).status, 0);
    const envPath = join(server, '.env');
    const base = readFileSync(envPath, 'utf8');
    writeFileSync(envPath, `${base}COMPOSE_PROFILES=dashboard,alerts\n`);
    const refused = deploy(server, ['--dry-run']);
    assert.equal(refused.status, 1);
    assert.match(refused.err, /COMPOSE_PROFILES has alerts but ALERT_WEBHOOK_URL is not set: add ALERT_WEBHOOK_URL=<url> to /);
    assert.doesNotMatch(refused.out, /would run/);
    writeFileSync(envPath, `${base}COMPOSE_PROFILES=dashboard,alerts\nALERT_WEBHOOK_URL=https://hooks.example.org/t0ken\n`);
    const ok = deploy(server, ['--dry-run']);
    assert.equal(ok.status, 0, ok.err);
    assert.match(ok.out, /would run: docker compose .* up -d --build --remove-orphans/);
    assert.ok(!ok.out.includes('t0ken'), 'the webhook URL (it carries a token) is not printed');
    assert.match(readFileSync(envPath, 'utf8'), /^ALERT_WEBHOOK_URL=https:\/\/hooks\.example\.org\/t0ken$/m, 'your lines are kept');
  });

  test('a variable compose.yaml requires and .env does not set stops it before Docker, naming the variable', () => {
    const server = deployDir();
    const composePath = join(server, 'compose.yaml');
    writeFileSync(composePath, readFileSync(composePath, 'utf8').replace('TRUST_PROXY: "1"', 'TRUST_PROXY: "1"\n      NEW_SECRET: ${NEW_SECRET:?set NEW_SECRET}'));
    const r = deploy(server, ARGS);
    assert.equal(r.status, 1);
    assert.match(r.err, /compose\.yaml needs NEW_SECRET, which .*\.env does not set/);
    assert.doesNotMatch(r.out, /would run/, 'nothing planned past the check');
  });
});
