// Recording's rules without MediaMTX: the disk guard (refuses to start below the floor, stops what
// records when the disk falls below it, a disk it cannot read counts as full), the relay's view
// kept in step with MediaMTX's (a lost recording is told, one started elsewhere is shown), and who
// may play recordings back (the `playback` question MediaMTX asks the relay). The same with the
// real MediaMTX and relay processes: recording.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { Logger } from '../../common/log.ts';
import type { RecordingMsg } from '../../protocol/relay.ts';
import { Access } from '../relay/access.ts';
import { RelayLimits } from '../relay/limits.ts';
import { diskProblem, Recordings, type RecordSwitch } from '../relay/recording.ts';
import { FileStore } from '../relay/store.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const MB = 1048576;

/** MediaMTX's side as a set of recorded robots; `fail` makes its API error. */
class FakeSwitch implements RecordSwitch {
  readonly on = new Set<string>();
  calls: string[] = [];
  fail = false;
  async set(robot: string, on: boolean): Promise<void> {
    this.calls.push(`${robot}:${on}`);
    if (this.fail) throw new Error('MediaMTX\'s API answered 500');
    if (on) this.on.add(robot); else this.on.delete(robot);
  }
  async recording(): Promise<Set<string>> {
    if (this.fail) throw new Error('MediaMTX\'s API answered 500');
    return new Set(this.on);
  }
}

function rig(freeMb: number, floorMb = 100) {
  const sw = new FakeSwitch();
  const told: RecordingMsg[] = [];
  const disk = { free: freeMb * MB, error: null as NodeJS.ErrnoException | null };
  const rec = new Recordings({
    switch: sw, dir: '/recordings', floorBytes: floorMb * MB, announce: (f) => told.push(f), log: quiet, now: () => 1000,
    free: async () => { if (disk.error) throw disk.error; return disk.free; },
  });
  return { sw, told, disk, rec };
}

describe('the disk guard', () => {
  test('room above the floor is no problem; below it, the sentence says how much is free and the floor', async () => {
    assert.equal(await diskProblem('/r', 100 * MB, async () => 100 * MB), null, 'exactly the floor is enough');
    assert.equal(
      await diskProblem('/r', 100 * MB, async () => 100 * MB - 1),
      'only 99 MB free on the recordings disk (/r), below the floor of 100 MB (RECORDING_MIN_FREE_MB)',
    );
    const gone = Object.assign(new Error('no such directory'), { code: 'ENOENT' });
    assert.equal(await diskProblem('/r', 1, async () => { throw gone; }), 'the recordings disk (/r) cannot be read: ENOENT');
  });

  test('below the floor, recording refuses to start, and MediaMTX is not asked', async () => {
    const { sw, told, rec } = rig(50);
    const r = await rec.start('sim', 'Ana');
    assert.deepEqual(r, { ok: false, status: 507, message: 'recording refused: only 50 MB free on the recordings disk (/recordings), below the floor of 100 MB (RECORDING_MIN_FREE_MB)' });
    assert.deepEqual(sw.calls, []);
    assert.deepEqual(told, []);
    assert.equal(rec.frame('sim').active, false);
  });

  test('a disk that falls below the floor stops every recording, each told why', async () => {
    const { sw, told, disk, rec } = rig(500);
    assert.deepEqual(await rec.start('sim', 'Ana'), { ok: true });
    assert.deepEqual(await rec.start('tank', 'admin'), { ok: true });
    await rec.check();
    assert.equal(told.filter((f) => !f.active).length, 0, 'above the floor nothing stops');
    disk.free = 99 * MB;
    await rec.check();
    assert.deepEqual(sw.calls, ['sim:true', 'tank:true', 'sim:false', 'tank:false']);
    assert.deepEqual(told.slice(2), [
      { v: 1, type: 'recording', robot: 'sim', available: true, active: false, since: null, by: null, stopped: 'disk_low' },
      { v: 1, type: 'recording', robot: 'tank', available: true, active: false, since: null, by: null, stopped: 'disk_low' },
    ]);
    assert.deepEqual(rec.all(), {});
  });

  test('a disk that cannot be read stops recording too', async () => {
    const { sw, disk, rec } = rig(500);
    await rec.start('sim', 'Ana');
    disk.error = Object.assign(new Error('gone'), { code: 'EIO' });
    await rec.check();
    assert.equal(sw.on.has('sim'), false);
    assert.match((await rec.start('sim', 'Ana') as { message: string }).message, /cannot be read: EIO/);
  });
});

describe('the relay\'s view and MediaMTX\'s', () => {
  test('start and stop are told to everyone once; a second start or a stop of nothing tells nobody', async () => {
    const { told, rec } = rig(500);
    await rec.start('sim', 'Ana');
    await rec.start('sim', 'Bo');
    assert.deepEqual(told, [{ v: 1, type: 'recording', robot: 'sim', available: true, active: true, since: 1000, by: 'Ana' }]);
    await rec.stop('sim');
    await rec.stop('sim');
    assert.equal(told.length, 2);
    assert.equal(told[1]!.stopped, 'request');
  });

  test('MediaMTX\'s API failing: the start is refused with its answer, a failed stop keeps showing the recording', async () => {
    const { sw, told, rec } = rig(500);
    sw.fail = true;
    assert.deepEqual(await rec.start('sim', 'Ana'), { ok: false, status: 503, message: 'recording could not start: MediaMTX\'s API answered 500' });
    sw.fail = false;
    await rec.start('sim', 'Ana');
    sw.fail = true;
    assert.equal((await rec.stop('sim')).ok, false);
    assert.equal(rec.frame('sim').active, true, 'the camera may well still be recorded');
    await rec.check(); // MediaMTX not answering: nothing is concluded
    assert.equal(rec.frame('sim').active, true);
    assert.equal(told.length, 1);
  });

  test('a recording MediaMTX forgot is told lost; one it records that the relay did not start is shown', async () => {
    const { sw, told, rec } = rig(500);
    await rec.start('sim', 'Ana');
    sw.on.delete('sim'); // MediaMTX restarted
    sw.on.add('tank'); // another relay started it
    await rec.check();
    assert.deepEqual(told.slice(1), [
      { v: 1, type: 'recording', robot: 'sim', available: true, active: false, since: null, by: null, stopped: 'lost' },
      { v: 1, type: 'recording', robot: 'tank', available: true, active: true, since: 1000, by: null },
    ]);
  });

  test('start and stop run in the order asked, whatever MediaMTX\'s delays', async () => {
    const { sw, rec } = rig(500);
    const slow = sw.set.bind(sw);
    let first = true;
    // The stimulus: MediaMTX slower to answer the first call (the start) than the second.
    sw.set = async (robot, on) => { if (first) { first = false; await new Promise((r) => setTimeout(r, 20)); } return slow(robot, on); };
    await Promise.all([rec.start('sim', 'Ana'), rec.stop('sim')]);
    assert.deepEqual(sw.calls, ['sim:true', 'sim:false']);
    assert.equal(rec.frame('sim').active, false);
  });

  test('without MediaMTX\'s API or a recordings directory recording is not available, and says what is missing', async () => {
    const rec = new Recordings({ switch: null, dir: null, floorBytes: 0, announce: () => assert.fail('nothing to tell'), log: quiet });
    assert.equal(rec.frame('sim').available, false);
    const r = await rec.start('sim', 'Ana');
    assert.equal(r.ok, false);
    assert.match((r as { message: string }).message, /MEDIAMTX_API_URL and RECORDINGS_DIR/);
  });
});

describe('who may play recordings back (MediaMTX asks with action playback)', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a driver of the robot may; its viewers, other robots\' drivers, the robot and nobody may not', async () => {
    dir = mkdtempSync(join(tmpdir(), 'havatar-rec-unit-'));
    const a = new Access(new FileStore(dir), { ...RelayLimits, authFailBaseDelayMs: 1, authFailMaxDelayMs: 1 }, quiet, 'admin-key');
    const session = async (robot: string, role: 'driver' | 'viewer') => (await a.redeemInvite((await a.createInvite(robot, role, 3_600_000)).token))!.token;
    const robotPw = (await a.registerRobot('sim')).password;
    const ask = (token: string, path = 'robots/sim', user = '') => a.decideMediamtx({ ip: '10.0.0.9', action: 'playback', path, token, user, password: user ? token : '' });
    assert.equal((await ask(await session('sim', 'driver'))).allow, true, 'driver');
    // A session token in the query, as a <video src> or a download link sends it.
    const driver = await session('sim', 'driver');
    assert.equal((await a.decideMediamtx({ ip: '10.0.0.9', action: 'playback', path: 'robots/sim', query: `path=robots/sim&token=${driver}` })).allow, true, 'driver, token in the query');
    assert.deepEqual(await ask(await session('sim', 'viewer')), { allow: false, status: 403, reason: 'viewer may not playback video' });
    assert.equal((await ask(await session('tank', 'driver'))).allow, false, 'another robot\'s driver');
    assert.equal((await ask(driver, 'robots/sim/talk')).allow, false, 'the talk path is never recorded');
    assert.equal((await ask(robotPw, 'robots/sim', 'sim')).allow, false, 'the robot itself');
    assert.deepEqual(await ask(''), { allow: false, status: 401, reason: 'no credentials' });
  });
});
