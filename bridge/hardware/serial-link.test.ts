// The serial port's lifecycle (serial-link.ts) through SerialMotors, which is how the bridge uses
// it: the transition table, the path a link really takes while a device is missing, appears and
// goes away (on a fake clock, so each reopen pause is checked to the millisecond), and close()
// from every state leaving no timer behind.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { SerialPort } from 'serialport';
import { setLogLevel, setLogSink } from '../../common/log.ts';
import { waitFor } from '../../common/wait.ts';
import { IllegalTransition, StateMachine } from '../../common/state-machine.ts';
import { createPtyPair } from '../sim/pty.ts';
import { LINK_TRANSITIONS, SerialLink, type LinkState } from './serial-link.ts';
import { SerialMotors } from './serial-motors.ts';

setLogLevel('error');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const STATES = Object.keys(LINK_TRANSITIONS) as LinkState[];

/** A fresh folder for a device path that does not exist until the test links it. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'havatar-link-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Lets pending promise callbacks and I/O run (setImmediate is not mocked). */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('the serial link\'s states', () => {
  it('allows exactly the listed transitions; any other throws under node:test and changes nothing', () => {
    for (const from of STATES) {
      for (const to of STATES) {
        const m = new StateMachine<LinkState>('serial link', from, LINK_TRANSITIONS);
        if (LINK_TRANSITIONS[from].includes(to)) {
          assert.equal(m.to(to), true, `${from} → ${to}`);
          continue;
        }
        assert.throws(() => m.to(to), IllegalTransition, `${from} → ${to} must throw`);
        assert.equal(m.state, from);
      }
    }
    assert.deepEqual(LINK_TRANSITIONS.closed, [], 'closed is final');
  });

  it('a link that moves off its table throws (a reopen scheduled before it was ever opened)', () => {
    const link = new SerialLink({ path: '/nonexistent/tty', reconnectMinMs: 100, reconnectMaxMs: 2000 }, {
      opened: () => {}, data: () => {}, lost: () => {}, error: () => {},
    });
    // The one way into 'waiting', reached as the link itself would.
    const scheduleReopen = (link as unknown as { scheduleReopen: () => void }).scheduleReopen.bind(link);
    assert.throws(scheduleReopen, /serial link: illegal transition idle → waiting/);
    assert.equal(link.state, 'idle');
    assert.equal(link.timers.size, 0, 'no reopen scheduled');
  });
});

describe('the serial link on a fake clock', () => {
  /** Records every move of a 'serial link' machine, and the reopen pauses the link logs. */
  function watch(t: TestContext) {
    const moves: string[] = [];
    const to = StateMachine.prototype.to;
    t.mock.method(StateMachine.prototype, 'to', function (this: StateMachine<string>, next: string) {
      if (this.name === 'serial link') moves.push(`${this.state}→${next}`);
      return to.call(this, next);
    });
    const retries: number[] = [];
    setLogLevel('warn');
    setLogSink((line) => {
      const entry = JSON.parse(line) as { msg?: string; retryMs?: number };
      if (entry.msg === 'cannot open serial port, will retry') retries.push(entry.retryMs!);
    });
    cleanups.push(() => { setLogSink((line) => process.stderr.write(line + '\n')); setLogLevel('error'); });
    return { moves, retries };
  }

  it('waits 50, 100, 200, 300, 300… ms between tries, and from 50 ms again once it was open', { timeout: 20_000 }, async (t) => {
    const dir = tempDir();
    const pair = await createPtyPair(join(dir, 'pty'));
    cleanups.push(() => pair.close());
    const device = join(dir, 'ttyUSB0');
    const { moves, retries } = watch(t);
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const motors = new SerialMotors({ path: device, reconnectMinMs: 50, reconnectMaxMs: 300 });
    cleanups.push(() => motors.close());
    const state = () => motors.linkState;
    const failed = () => once(motors, 'error');
    /** The link waits exactly `ms`, then tries again. */
    const waitsExactly = (ms: number) => {
      t.mock.timers.tick(ms - 1);
      assert.equal(state(), 'waiting', `still waiting 1 ms before ${ms} ms`);
      t.mock.timers.tick(1);
      assert.equal(state(), 'opening', `trying again at ${ms} ms`);
    };

    await motors.open();
    assert.equal(state(), 'waiting');
    for (const ms of [50, 100, 200, 300, 300]) {
      const next = failed();
      waitsExactly(ms);
      await next;
    }
    symlinkSync(pair.hostPath, device);
    waitsExactly(300);
    while (state() === 'opening') await settle();
    assert.equal(state(), 'open');
    const lost = failed();
    await pair.close();
    await lost;
    const next = failed();
    waitsExactly(50);
    await next;
    await motors.close();

    const retry = ['waiting→opening', 'opening→waiting'];
    assert.deepEqual(moves, [
      'idle→opening', 'opening→waiting', ...Array<string[]>(5).fill(retry).flat(),
      'waiting→opening', 'opening→open', 'open→waiting', ...retry, 'waiting→closed',
    ]);
    assert.deepEqual(retries, [50, 100, 200, 300, 300, 300, 100], 'each warning names the pause that follows it');
  });
});

/**
 * Counts the timers set from now on that have neither run nor been cleared. Replaces the global
 * timer functions until restore().
 */
function liveTimers() {
  const g = globalThis as unknown as Record<'setTimeout' | 'setInterval' | 'clearTimeout' | 'clearInterval', unknown>;
  const real = { setTimeout, setInterval, clearTimeout, clearInterval };
  const live = new Set<unknown>();
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const id = real.setTimeout((...a: unknown[]) => { live.delete(id); fn(...a); }, ms, ...args);
    live.add(id);
    return id;
  };
  g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const id = real.setInterval(fn, ms, ...args);
    live.add(id);
    return id;
  };
  g.clearTimeout = (id: NodeJS.Timeout | undefined) => { live.delete(id); real.clearTimeout(id); };
  g.clearInterval = (id: NodeJS.Timeout | undefined) => { live.delete(id); real.clearInterval(id); };
  const restore = (): void => { Object.assign(g, real); };
  cleanups.push(restore);
  return { count: () => live.size, restore };
}

describe('close() from each state', () => {
  it('idle: closed at once, and a later open() starts nothing', async () => {
    const timers = liveTimers();
    const motors = new SerialMotors({ path: '/nonexistent/ttyUSB0' });
    await motors.close();
    await motors.open();
    assert.equal(motors.linkState, 'closed');
    assert.equal(timers.count(), 0);
  });

  /** Motors on a pty nobody answers on, with the timers counted from before they exist. */
  async function onSilentPty() {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const timers = liveTimers();
    return { timers, motors: new SerialMotors({ path: pair.hostPath }) };
  }

  it('opening: the port that opens after close() is let go, and no timer is left', async () => {
    const { timers, motors } = await onSilentPty();
    const opened = motors.open();
    assert.equal(motors.linkState, 'opening');
    assert.equal(timers.count(), 2, 'status check and refresh');
    await motors.close();
    await opened;
    assert.equal(motors.linkState, 'closed');
    assert.equal(timers.count(), 0);
  });

  it('waiting: the reopen pause is cleared', async () => {
    const timers = liveTimers();
    const motors = new SerialMotors({ path: join(tempDir(), 'ttyUSB0'), reconnectMinMs: 60_000 });
    await motors.open();
    assert.equal(motors.linkState, 'waiting');
    assert.equal(timers.count(), 3, 'status check, refresh and the reopen pause');
    await motors.close();
    assert.equal(motors.linkState, 'closed');
    assert.equal(timers.count(), 0);
  });

  it('open: a set() still awaiting its ack fails, its deadline is cleared, and so is every other timer', async () => {
    const { timers, motors } = await onSilentPty();
    await motors.open();
    assert.equal(motors.linkState, 'open');
    const unacked = assert.rejects(motors.set(0.5, 0.5), /serial motors closed/); // nobody on the other end acks
    assert.equal(timers.count(), 3, 'status check, refresh and the ack deadline');
    await motors.close();
    await unacked;
    assert.equal(motors.linkState, 'closed');
    assert.equal(timers.count(), 0);
  });
});

describe('the serial link\'s writes', () => {
  async function openPair() {
    const pty = await createPtyPair(tempDir());
    cleanups.push(() => pty.close());
    let opened!: () => void;
    const isOpen = new Promise<void>((r) => { opened = r; });
    const link = new SerialLink({ path: pty.hostPath, reconnectMinMs: 100, reconnectMaxMs: 2000 }, {
      opened: () => opened(), data: () => {}, lost: () => {}, error: () => {},
    });
    cleanups.push(() => link.close(200));
    await link.open();
    await isOpen;
    const device = new SerialPort({ path: pty.devicePath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => device.open((e) => (e ? rej(e) : res())));
    cleanups.push(() => new Promise<void>((r) => device.close(() => r())));
    let received = '';
    device.on('data', (c: Buffer) => { received += c.toString('latin1'); });
    const port = (link as unknown as { port: SerialPort }).port;
    return { link, port, received: () => received };
  }

  it('with nothing queued, a frame is on the line when write() returns (no thread-pool hop)', async () => {
    const { link, port, received } = await openPair();
    assert.equal(link.write('$S,1*00\n'), true);
    assert.equal(port.writableLength, 0, 'nothing was left to serialport\'s queue');
    await waitForText(received, '$S,1*00\n');
  });

  it('behind queued bytes a frame is queued too: frames never overtake one another', async () => {
    const { link, port, received } = await openPair();
    port.write('$M,1,10,10*00\n'); // through the stream: in flight in the thread pool
    assert.ok(port.writableLength > 0);
    assert.equal(link.write('$S,2*00\n'), true);
    await waitForText(received, '$M,1,10,10*00\n$S,2*00\n');
  });
});

async function waitForText(get: () => string, want: string): Promise<void> {
  await waitFor(`"${want.trim()}" at the device`, get, (s) => s === want, 2000);
}
