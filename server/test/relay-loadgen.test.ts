// The relay capacity bench's load generator (bench/relay/loadgen, Go) against a real relay and the
// Socket.IO baseline, with a handful of robots and clients for a couple of seconds: it builds, it
// connects with the relay's real credentials, every command it sends is carried through the relay
// to one of its robots and counted there, and the relay's own counters agree. So the generator
// that docs/PERFORMANCE.md's relay figures come from cannot rot unnoticed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Loadgen, type ClientSpec, type RobotSpec, type RunResult } from '../../bench/relay/loadgen.ts';
import { api, launch, registerRobot, sessionFor, startRelay, stopAll, type RelayProc } from './helpers.ts';

/** A cold build compiles Go's standard library first (about a minute on a busy 2-core machine). */
const BUILD_TIMEOUT_MS = 240_000;
const ROBOTS = ['lg-a', 'lg-b'];
const VIEWERS_PER_ROBOT = 2;
const DRIVER_HZ = 20, VIEWER_HZ = 2, RUN_MS = 2000, DRAIN_MS = 5000;

let gen: Loadgen;
before(() => { gen = Loadgen.start(1); }, { timeout: BUILD_TIMEOUT_MS });
after(async () => { await gen?.stop(); await stopAll(); });

const histTotal = (r: RunResult) => r.hist.reduce((a, [, n]) => a + n, 0);

/** What every run must show: all sent delivered through the relay, timed, acked, nothing refused. */
function assertCarried(r: RunResult, clients: number): void {
  assert.deepEqual(r.errorSample, []);
  assert.equal(r.errors, 0);
  assert.equal(r.closes, 0);
  // Sent, and never more than asked (the rate itself is the bench's to show: a starved generator
  // skips what it could not send in time, and marks it).
  assert.ok(r.sent > 0 && r.sent <= r.intended + clients, `sent ${r.sent} of ${r.intended} intended`);
  assert.equal(r.delivered, r.sent, 'every command reached its robot');
  assert.equal(histTotal(r), r.delivered, 'every delivered command has a latency');
  assert.ok(r.acks > 0 && r.acks <= r.sent, `acks ${r.acks} of ${r.sent}`);
}

describe('relay load generator', () => {
  let relay: RelayProc;
  const robots: RobotSpec[] = [];
  const clients: ClientSpec[] = [];

  before(async () => {
    relay = await startRelay({ env: { HAVATAR_LOG_LEVEL: 'warn' } });
    for (const id of ROBOTS) {
      robots.push({ id, password: await registerRobot(relay.url, id) });
      clients.push({ id: `${id}-d`, robot: id, driver: true, token: await sessionFor(relay.url, id, 'driver') });
      const viewer = await sessionFor(relay.url, id, 'viewer');
      for (let k = 1; k <= VIEWERS_PER_ROBOT; k++) clients.push({ id: `${id}-v${k}`, robot: id, driver: false, token: viewer });
    }
  });

  test('drives our relay: every command is carried to its robot, counted and timed, and the relay counted them too', async () => {
    const c = await gen.connect({ kind: 'ours', url: relay.url }, robots, clients);
    assert.deepEqual({ clients: c.clients, failed: c.failed }, { clients: clients.length, failed: 0 }, c.errorSample.join(' | '));
    const r = await gen.run(DRIVER_HZ, VIEWER_HZ, RUN_MS, DRAIN_MS);
    assertCarried(r, clients.length);
    // Drivers sent more than viewers (20 Hz against 2 Hz): the two rates are applied.
    const metrics = (await api(relay.url, 'GET', '/metrics')).text;
    const counted = (type: string) => Number(new RegExp(`havatar_relay_messages_total\\{direction="client_to_relay",type="${type}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    const drives = counted('drive'), beats = counted('heartbeat');
    assert.ok(drives + beats >= r.sent, `relay counted ${drives} drives + ${beats} heartbeats, generator sent ${r.sent}`);
    assert.ok(drives > beats, `drives ${drives} at ${DRIVER_HZ} Hz, heartbeats ${beats} at ${VIEWER_HZ} Hz`);
    await gen.closeAll();
  });

  test('the direct hop (the floor) is measured in-process', async () => {
    const r = await gen.direct(50, 20);
    assert.ok(r.sent > 0, `sent ${r.sent}`);
    assert.equal(r.delivered, r.sent);
    assert.equal(histTotal(r), r.delivered);
  });
});

describe('relay load generator against the Socket.IO baseline', () => {
  test('carries every command through the baseline to its robot', async () => {
    const p = await launch('node', ['--import', 'tsx', 'bench/baseline/socketio-relay.ts', '--port', '0'], /"event":"listening"/);
    const url = `http://127.0.0.1:${(JSON.parse(p.readyLine) as { port: number }).port}`;
    const robots: RobotSpec[] = ROBOTS.map((id) => ({ id }));
    const clients: ClientSpec[] = ROBOTS.flatMap((id) => [{ id: `${id}-d`, robot: id, driver: true }, { id: `${id}-v1`, robot: id, driver: false }]);
    const c = await gen.connect({ kind: 'baseline', url }, robots, clients);
    assert.deepEqual({ clients: c.clients, failed: c.failed }, { clients: clients.length, failed: 0 }, c.errorSample.join(' | '));
    assertCarried(await gen.run(DRIVER_HZ, VIEWER_HZ, RUN_MS, DRAIN_MS), clients.length);
    await gen.closeAll();
  });
});
