// The monitoring of the compose stack against the real tools: the alert rules by their unit tests
// (`promtool test rules server/prometheus/alerts.test.yml`), prometheus.yml's wiring of them
// (`promtool check config`), the Grafana dashboard's queries as PromQL, and every metric name the
// rules and the dashboard query is one a real relay or a real MediaMTX v1.20.1 exports. The
// relay's per-robot gauges (what RobotOfflineWhileWanted and RobotPublishingNothing read) follow a
// real robot and a real viewer. promtool comes with Debian's prometheus package (scripts/setup.sh
// installs it); without it those tests skip and say so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import yaml from 'js-yaml';
import { waitFor } from '../../common/wait.ts';
import {
  Peer, api, mtxApiAuth, registerRobot, robotAuth, sessionFor, startMediamtx, startRelay, stopAll, tempDir, type MediamtxProc, type RelayProc,
} from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
const SERVER = join(ROOT, 'server');
const hasPromtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;
const NO_PROMTOOL = 'promtool is not installed (apt-get install prometheus; scripts/setup.sh does)';

interface Rule { alert?: string; record?: string; expr: string }
const alertsFile = join(SERVER, 'prometheus/alerts.yml');
const rules = (yaml.load(readFileSync(alertsFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
interface Panel { title: string; datasource: { uid: string }; targets: { expr: string; datasource: { uid: string } }[] }
const dashboard = JSON.parse(readFileSync(join(SERVER, 'grafana/dashboards/havatar.json'), 'utf8')) as { panels: Panel[] };
const compose = yaml.load(readFileSync(join(SERVER, 'compose.yaml'), 'utf8')) as {
  services: Record<string, { volumes?: string[]; secrets?: string[]; profiles?: string[] }>;
};

function promtool(args: string[], cwd = ROOT) {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);
/**
 * The metric names a PromQL expression selects: strings, label matchers, range and grouping
 * lists removed, what is left that is a name and not a function call or keyword. Enough for the
 * expressions here (checked below against a known answer), not a PromQL parser.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\(?))/g)) {
    if (m[1] === '(' || PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

const queried = [
  ...rules.map((r) => ({ where: `alerts.yml ${r.alert}`, expr: r.expr })),
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `dashboard "${p.title}"`, expr: t.expr }))),
];

describe('alert rules', () => {
  test('alerts.test.yml: every alert fires when it should and stays quiet when it should (promtool test rules)', (t) => {
    if (!hasPromtool) return t.skip(NO_PROMTOOL);
    const r = promtool(['test', 'rules', 'alerts.test.yml'], join(SERVER, 'prometheus'));
    assert.ok(r.ok, r.out);
    assert.match(r.out, /SUCCESS/);
    // Every alert in the file has a test that expects it to fire.
    const tested = readFileSync(join(SERVER, 'prometheus/alerts.test.yml'), 'utf8');
    for (const rule of rules) assert.match(tested, new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${rule.alert} is tested firing`);
  });

  test('prometheus.yml loads alerts.yml and sends to Alertmanager (promtool check config, compose\'s mounts)', (t) => {
    if (!hasPromtool) return t.skip(NO_PROMTOOL);
    const prom = yaml.load(readFileSync(join(SERVER, 'prometheus.yml'), 'utf8')) as Record<string, unknown> & { rule_files: string[]; scrape_configs: { basic_auth?: { password_file: string } }[] };
    // compose mounts the rule file where prometheus.yml names it, and the secret where its scrape reads it.
    const mounts = compose.services.prometheus!.volumes!;
    for (const file of prom.rule_files) assert.ok(mounts.includes(`./prometheus/alerts.yml:${file}:ro`), `compose mounts ${file}`);
    const dir = tempDir('havatar-promcheck-');
    writeFileSync(join(dir, 'secret'), 'x');
    const local = {
      ...prom, rule_files: [alertsFile],
      scrape_configs: prom.scrape_configs.map((s) => (s.basic_auth ? { ...s, basic_auth: { ...s.basic_auth, password_file: join(dir, 'secret') } } : s)),
    };
    writeFileSync(join(dir, 'prometheus.yml'), yaml.dump(local));
    const r = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    assert.ok(r.ok, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  test('Alertmanager: the receiver it routes to exists, its webhook URL is the mounted secret, inhibitions name real alerts', () => {
    const am = yaml.load(readFileSync(join(SERVER, 'alertmanager.yml'), 'utf8')) as {
      route: { receiver: string; routes?: { receiver: string }[] }; receivers: { name: string; webhook_configs?: { url_file: string }[] }[];
      inhibit_rules: { source_matchers: string[]; target_matchers: string[] }[];
    };
    const receivers = new Set(am.receivers.map((r) => r.name));
    for (const r of [am.route, ...(am.route.routes ?? [])]) assert.ok(receivers.has(r.receiver), `receiver ${r.receiver} is defined`);
    const secret = compose.services.alertmanager!.secrets![0]!;
    assert.equal(am.receivers[0]!.webhook_configs![0]!.url_file, `/run/secrets/${secret}`);
    const alerts = new Set(rules.map((r) => r.alert));
    for (const m of am.inhibit_rules.flatMap((i) => [...i.source_matchers, ...i.target_matchers])) {
      for (const name of /alertname="([^"]+)"/.exec(m)![1]!.split('|')) assert.ok(alerts.has(name), `${name} is an alert of alerts.yml`);
    }
  });
});

describe('Grafana dashboard', () => {
  test('every panel uses the provisioned Prometheus data source, mounted where the provider reads', () => {
    const ds = (yaml.load(readFileSync(join(SERVER, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string; url: string }[] }).datasources[0]!;
    assert.equal(ds.url, 'http://prometheus:9090');
    for (const p of dashboard.panels) {
      assert.equal(p.datasource.uid, ds.uid, p.title);
      for (const t of p.targets) assert.equal(t.datasource.uid, ds.uid, p.title);
    }
    const provider = (yaml.load(readFileSync(join(SERVER, 'grafana/provisioning/dashboards/havatar.yml'), 'utf8')) as { providers: { options: { path: string } }[] }).providers[0]!;
    assert.ok(compose.services.grafana!.volumes!.includes(`./grafana/dashboards:${provider.options.path}:ro`));
    // Robots, viewers, bitrate, latency and errors are all on it.
    const all = dashboard.panels.map((p) => p.targets.map((t) => t.expr).join(' ')).join(' ');
    for (const m of ['havatar_relay_robots_online', 'havatar_relay_clients', 'paths_readers', 'paths_inbound_bytes', 'havatar_relay_forward_seconds_bucket', 'havatar_relay_refused_total', 'havatar_relay_auth_failures_total']) {
      assert.ok(all.includes(m), `the dashboard shows ${m}`);
    }
  });

  test('every query is valid PromQL (promtool check rules on them as recording rules)', (t) => {
    if (!hasPromtool) return t.skip(NO_PROMTOOL);
    const dir = tempDir('havatar-dashcheck-');
    const asRules = { groups: [{ name: 'dashboard', rules: queried.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })) }] };
    writeFileSync(join(dir, 'queries.yml'), yaml.dump(asRules));
    const r = promtool(['check', 'rules', join(dir, 'queries.yml')]);
    assert.ok(r.ok, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${queried.length} rules found`));
  });
});

describe('the metrics queried exist (real relay, real MediaMTX)', () => {
  let relay: RelayProc;
  let mtx: MediamtxProc;
  before(async () => {
    relay = await startRelay();
    mtx = await startMediamtx(`${relay.url}/mediamtx/auth`);
  });
  after(stopAll);

  /** Names in a Prometheus text exposition, histograms with their _bucket/_sum/_count series. */
  function exposed(text: string): Set<string> {
    const names = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(m[1]!);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
    }
    for (const m of text.matchAll(/^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/gm)) names.add(m[1]!);
    return names;
  }

  test('the name extraction finds what an expression selects', () => {
    assert.deepEqual(
      metricNames('sum by (robot) (rate(foo_total{name=~"robots/.+", job="x"}[5m])) unless on (robot) label_replace(bar, "robot", "$1", "name", "(.+)") > 0 or vector(0)'),
      ['foo_total', 'bar'],
    );
    assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) / 8 * up{job="a"} == bool 1'), ['h_bucket', 'up']);
  });

  test('every metric name in alerts.yml and the dashboard is exported by the relay, MediaMTX or Prometheus itself', async () => {
    const relayText = (await api(relay.url, 'GET', '/metrics')).text;
    const mtxText = (await api(`http://127.0.0.1:${mtx.metrics}`, 'GET', '/metrics', undefined, mtxApiAuth)).text;
    assert.match(mtxText, /^paths /m, 'MediaMTX answered its metrics');
    const known = new Set([...exposed(relayText), ...exposed(mtxText), 'up', 'ALERTS']);
    const missing = queried.flatMap((q) => metricNames(q.expr).filter((n) => !known.has(n)).map((n) => `${q.where}: ${n}`));
    assert.deepEqual(missing, []);
    assert.ok(queried.every((q) => metricNames(q.expr).length > 0), 'every query selects some metric');
  });

  test('per-robot gauges follow a real robot and viewer; the data disk\'s free and total bytes are exported', async () => {
    const pw = await registerRobot(relay.url, 'mon-1');
    const sample = async (name: string) => {
      const text = (await api(relay.url, 'GET', '/metrics')).text;
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    const viewer = await Peer.open(`${relay.ws}/ws/client/mon-viewer?token=${await sessionFor(relay.url, 'mon-1', 'viewer')}`);
    await viewer.next((f) => f.type === 'welcome');
    // The viewer waits for a robot that is not there: what RobotOfflineWhileWanted looks for.
    await waitFor('robot_clients 1', () => sample('havatar_relay_robot_clients{robot="mon-1"}'), (v) => v === 1);
    assert.equal(await sample('havatar_relay_robot_connected{robot="mon-1"}'), null);
    const robot = await Peer.open(`${relay.ws}/ws/robot/mon-1`, robotAuth('mon-1', pw));
    await viewer.next((f) => f.type === 'robot' && f.online === true);
    assert.equal(await sample('havatar_relay_robot_connected{robot="mon-1"}'), 1);
    // fresh(): the viewer's first 'robot' frame (before the robot came) also said offline.
    const gone = viewer.fresh((f) => f.type === 'robot' && f.online === false);
    robot.close();
    await gone;
    assert.equal(await sample('havatar_relay_robot_connected{robot="mon-1"}'), 0);
    viewer.close();
    await waitFor('robot_clients gone', () => sample('havatar_relay_robot_clients{robot="mon-1"}'), (v) => v === null);
    const avail = await sample('havatar_relay_data_fs_avail_bytes');
    const size = await sample('havatar_relay_data_fs_size_bytes');
    assert.ok(avail !== null && size !== null && avail > 0 && size >= avail, `avail ${avail} size ${size}`);
  });
});
