// Driving through a stalled link (bridge/test/stall-proxy.ts holds the driver's bytes as TCP does
// while it waits to retransmit): the deadman counts from when each command was sent, so a stall
// shorter than the deadman (minus the send interval) is ridden through, a longer one stops the
// robot and the next fresh command drives it again, and a driver who leaves behind a stall is
// stopped the deadman time after its last command that arrived. The exact rule is pinned on a
// fake clock in bridge/safety/motion.test.ts; this is the wiring through a real socket.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { sleep, waitFor } from '../../common/wait.ts';
import { api, drive, Operator, startRig, type Rig } from './harness.ts';
import { StallProxy } from './stall-proxy.ts';

/** The app's pace (src/lib/link/drive-sender.ts). */
const PACE_MS = 40;
const PWM = Math.round(0.5 * 255);

describe('driving through a stalled link', () => {
  let rig: Rig;
  let proxy: StallProxy | null = null;
  before(async () => { rig = await startRig(); });
  afterEach(async () => {
    await Operator.closeAll();
    await proxy?.close();
    proxy = null;
    await api(rig, 'POST', '/config', { safety: { deadman_ms: 250 } });
  });
  after(async () => { await rig?.stop(); });

  async function driverThroughProxy(): Promise<Operator> {
    proxy = await StallProxy.start({ targetPort: rig.httpPort });
    const op = await Operator.connect({ httpPort: proxy.port });
    await op.next((m) => m.type === 'lease' && (m.driver === null || m.you), 3000);
    const from = op.mark();
    op.send({ v: 1, type: 'lease', action: 'take' });
    await op.next((m) => m.type === 'lease' && m.you, 3000, from);
    return op;
  }

  /** Sends at the app's pace for `ms`; returns the commands sent. */
  async function driveFor(op: Operator, ms: number, ttl = 300): Promise<ReturnType<typeof drive>[]> {
    const sent: ReturnType<typeof drive>[] = [];
    const end = Date.now() + ms;
    // The pace between commands is the stimulus (the app's drive timer).
    while (Date.now() < end) { const d = drive(0.5, 0.5, { ttl }); op.send(d); sent.push(d); await sleep(PACE_MS); }
    return sent;
  }

  test('a stall well inside the deadman is ridden through: no stop, every held command applied', async () => {
    // A 1 s deadman and a 600 ms stall: 360 ms of margin for a loaded machine's scheduling.
    assert.equal((await api(rig, 'POST', '/config', { safety: { deadman_ms: 1000 } })).status, 200);
    const op = await driverThroughProxy();
    const mark = op.mark();
    await driveFor(op, 300, 1000);
    proxy!.stall(600);
    // ttl 1000 too: the ttl would refuse them before the deadman rule is reached.
    const held = await driveFor(op, 400, 1000);
    const last = held.at(-1)!;
    await op.next((m) => m.type === 'ack' && m.seq === last.seq, 3000, mark);
    const acks = op.messages.slice(mark).filter((m) => m.type === 'ack');
    assert.deepEqual(acks.filter((m) => m.type === 'ack' && m.result !== 'applied'), [], 'every command applied');
    // Applied means the board acknowledged it (the ack carries the serial round trip).
    assert.ok(acks.every((m) => m.type === 'ack' && typeof m.serialRttMs === 'number'));
    assert.equal(op.messages.slice(mark).some((m) => m.type === 'stopped'), false, 'no stop');
  });

  test('a stall longer than the deadman stops the robot; what was sent too long ago is refused, and the next fresh command drives again', async () => {
    const op = await driverThroughProxy();
    const mark = op.mark();
    await driveFor(op, 200);
    proxy!.stall(600);
    const stallFrom = op.mark();
    // The driver keeps its stick held throughout: sending goes on until the robot drives again.
    let sending = true;
    // At the app's pace: the stimulus.
    const sender = (async () => { while (sending) { op.send(drive(0.5, 0.5)); await sleep(PACE_MS); } })();
    try {
      const stopped = await op.next('stopped', 3000, mark);
      assert.equal(stopped.reason, 'deadman');
      await op.next((m) => m.type === 'ack' && m.result === 'expired', 3000, stallFrom);
      // Refused by the ttl (300) or, between 250 and 300 ms old, by the deadman rule: never applied late.
      const refused = op.messages.slice(stallFrom).find((m) => m.type === 'ack' && m.result === 'expired');
      assert.match(String(refused?.type === 'ack' && refused.reason), /arrived after its ttl|sent longer ago than the deadman time/);
      await op.next((m) => m.type === 'ack' && m.result === 'applied', 3000, op.messages.indexOf(refused!) + 1);
      await waitFor('driving again', () => rig.simState(), (st) => st.targetLeft === PWM, 2000);
    } finally {
      sending = false;
      await sender;
    }
  });

  test('a driver who leaves behind a stall is stopped the deadman time after its last command that arrived', async () => {
    const op = await driverThroughProxy();
    const before = (await rig.simState()).lastStopAt;
    const sent = await driveFor(op, 300);
    const lastArrived = sent.at(-1)!;
    await op.next((m) => m.type === 'ack' && m.seq === lastArrived.seq);
    proxy!.stall(10_000);
    await driveFor(op, 100); // held, then never delivered
    proxy!.cut();
    const s = await waitFor('the deadman stop', () => rig.simState(), (st) => st.lastStopAt !== before, { timeoutMs: 2000, everyMs: 10 });
    const stopAfter = s.lastStopAt! - lastArrived.t;
    assert.ok(stopAfter >= 249, `not before the deadman time (${stopAfter} ms)`);
    assert.ok(stopAfter <= 250 + 100, `stopped ${stopAfter} ms after its last command`);
    op.ws.terminate();
  });
});
