// The relay's drive datagram channel (server/relay/datagram.ts) on loopback: werift peers offer
// over authenticated sockets; the channel carries only drive/motor/stop/heartbeat, with the
// socket's role; a copy that arrives second is dropped; bad frames get errors on the socket; the
// channel closes with its socket; a relay with the channel off still drives over the socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { waitFor } from '../../common/wait.ts';
import { DriveChannel, warmWebRtc } from '../../bridge/server-mode/drive-channel.ts';
import { datagramConfigFromEnv } from '../relay/datagram.ts';
import { Peer, registerRobot, robotAuth, sessionFor, startRelay, stopAll, type RelayProc } from './helpers.ts';

const log = createLogger('test-drive-channel');

/** A peer's drive channel, offered over its socket and answered by the relay. */
async function channelOver(peer: Peer): Promise<{ dc: DriveChannel; received: string[] }> {
  const received: string[] = [];
  const dc = await DriveChannel.offer({
    relayHost: '127.0.0.1', log, onMessage: (t) => received.push(t),
    sendOffer: (sdp) => { peer.send({ v: 1, type: 'rtc_offer', sdp }); return true; },
  });
  const answer = await peer.next((f) => f.type === 'rtc_answer' || (f.type === 'error' && f.ref === 'rtc_offer'), 10_000);
  assert.equal(answer.type, 'rtc_answer', JSON.stringify(answer));
  const candidates = String(answer.sdp).split('\r\n').filter((l) => l.startsWith('a=candidate:'));
  assert.ok(candidates.length > 0 && candidates.every((l) => l.split(' ')[4] === '127.0.0.1'), `a loopback relay advertises 127.0.0.1 only: ${candidates.join(' | ')}`);
  await dc.answer(answer.sdp as string);
  await waitFor('drive channel open', () => dc.isOpen, undefined, 10_000);
  return { dc, received };
}

const drive = (seq: number, t = Date.now()) => ({ v: 1, type: 'drive', seq, left: 0.5, right: 0.5, ttl: 500, t });
const forwards = (robot: Peer, type: string) => robot.frames.filter((f) => f.type === 'forward' && (f.msg as { type: string }).type === type);

describe('drive datagram channel at the relay', () => {
  let relay: RelayProc;
  let robot: Peer;
  let robotChannel: { dc: DriveChannel; received: string[] };
  const opened: DriveChannel[] = [];

  before(async () => {
    // This process's first WebRTC peer blocks its event loop; paid before any socket must answer pings.
    await warmWebRtc();
    relay = await startRelay({ env: { HAVATAR_LOG_LEVEL: 'debug' } });
    const pw = await registerRobot(relay.url, 'dg');
    robot = await Peer.open(`${relay.ws}/ws/robot/dg`, robotAuth('dg', pw));
    robotChannel = await channelOver(robot).catch((err: Error) => { throw new Error(`${err.message}\nrelay: ${relay.lines.slice(-15).join('\n')}`); });
    opened.push(robotChannel.dc);
  });
  after(async () => {
    for (const dc of opened) dc.close();
    robot?.close();
    await stopAll();
  });

  it('the driver\'s channel drives: one forward per command on the robot\'s socket, and a copy on its channel', async () => {
    const driver = await Peer.open(`${relay.ws}/ws/client/d1?token=${await sessionFor(relay.url, 'dg', 'driver')}`);
    await driver.next((f) => f.type === 'welcome');
    driver.send({ v: 1, type: 'lease', action: 'take' });
    await driver.next((f) => f.type === 'lease' && f.you === true);
    const { dc } = await channelOver(driver);
    opened.push(dc);
    // Over the channel only.
    assert.ok(dc.send(JSON.stringify(drive(1))));
    await robot.next((f) => f.type === 'forward' && (f.msg as { seq?: number }).seq === 1);
    await waitFor('the copy on the robot channel', () => robotChannel.received.some((t) => t.includes('"seq":1,')), undefined, 3000);
    // Both ways, the same command: forwarded once, no error.
    const cmd = drive(2);
    dc.send(JSON.stringify(cmd));
    driver.send(cmd);
    dc.send(JSON.stringify(drive(3)));
    await robot.next((f) => f.type === 'forward' && (f.msg as { seq?: number }).seq === 3);
    driver.send(drive(3)); // the socket's copy, second
    driver.send({ v: 1, type: 'heartbeat', t: 42 });
    await robot.next((f) => f.type === 'forward' && (f.msg as { type: string }).type === 'heartbeat');
    assert.deepEqual(forwards(robot, 'drive').map((f) => (f.msg as { seq: number }).seq), [1, 2, 3]);
    assert.equal(driver.frames.filter((f) => f.type === 'error').length, 0, JSON.stringify(driver.frames.filter((f) => f.type === 'error')));
    driver.close();
    await waitFor('the channel closed with its socket', () => dc.isClosed, undefined, 15_000);
  });

  it('a viewer\'s channel cannot drive; bad frames and other messages are answered with errors on the socket', async () => {
    const viewer = await Peer.open(`${relay.ws}/ws/client/v1?token=${await sessionFor(relay.url, 'dg', 'viewer')}`);
    await viewer.next((f) => f.type === 'welcome');
    const { dc } = await channelOver(viewer);
    opened.push(dc);
    const before = forwards(robot, 'drive').length;
    dc.send(JSON.stringify(drive(100)));
    const e1 = await viewer.next((f) => f.type === 'error' && f.ref === '100');
    assert.equal(e1.code, 'forbidden');
    dc.send('{not json');
    assert.equal((await viewer.fresh((f) => f.type === 'error')).code, 'bad_json');
    dc.send(JSON.stringify({ v: 1, type: 'tts', id: 'x', text: 'hi' }));
    const e3 = await viewer.fresh((f) => f.type === 'error');
    assert.equal(e3.code, 'bad_message');
    assert.match(String(e3.message), /drive channel/);
    dc.send(JSON.stringify({ v: 1, type: 'drive', seq: 5, left: 3, right: 0, ttl: 500, t: 1 }));
    assert.equal((await viewer.fresh((f) => f.type === 'error')).field, 'left');
    // The stop button works for anyone, over the channel too.
    dc.send(JSON.stringify({ v: 1, type: 'stop', seq: 7, t: Date.now() }));
    await robot.next((f) => f.type === 'forward' && f.client === 'v1' && (f.msg as { type: string }).type === 'stop');
    assert.equal(forwards(robot, 'drive').length, before, 'nothing the viewer sent drove');
    viewer.close();
    await waitFor('the channel closed with its socket', () => dc.isClosed, undefined, 15_000);
  });

  it('the channel has its own rate limit: a flood is refused, then the channel is closed', async (t) => {
    const driver = await Peer.open(`${relay.ws}/ws/client/d2?token=${await sessionFor(relay.url, 'dg', 'driver')}`);
    await driver.next((f) => f.type === 'welcome');
    const { dc } = await channelOver(driver);
    opened.push(dc);
    // The flood is the stimulus: 20 frames every 5 ms (4,000/s) until the relay closes the channel.
    let seq = 1000;
    const flood = setInterval(() => { for (let i = 0; i < 20; i++) dc.send(JSON.stringify({ v: 1, type: 'stop', seq: seq++, t: Date.now() })); }, 5);
    t.after(() => clearInterval(flood));
    await driver.next((f) => f.type === 'error' && f.code === 'rate_limited' && /channel closed/.test(String(f.message)), 10_000);
    await waitFor('the relay closed the flooded channel', () => dc.isClosed, undefined, 15_000);
    clearInterval(flood);
    assert.equal(driver.ws.readyState, driver.ws.OPEN, 'the socket stays');
    driver.close();
  });

  it('a relay with the channel off answers the offer with an error, and drive goes over the socket', async () => {
    const off = await startRelay({ env: { HAVATAR_RELAY_DATAGRAM: 'off' } });
    const pw = await registerRobot(off.url, 'dg2');
    const r2 = await Peer.open(`${off.ws}/ws/robot/dg2`, robotAuth('dg2', pw));
    const driver = await Peer.open(`${off.ws}/ws/client/d3?token=${await sessionFor(off.url, 'dg2', 'driver')}`);
    await driver.next((f) => f.type === 'welcome');
    driver.send({ v: 1, type: 'lease', action: 'take' });
    await driver.next((f) => f.type === 'lease' && f.you === true);
    driver.send({ v: 1, type: 'rtc_offer', sdp: 'v=0' });
    assert.equal((await driver.next((f) => f.type === 'error' && f.ref === 'rtc_offer')).code, 'unavailable');
    driver.send(drive(1));
    await r2.next((f) => f.type === 'forward' && (f.msg as { seq?: number }).seq === 1);
    driver.close();
    r2.close();
  });
});

describe('drive channel config', () => {
  it('reads the env, and a loopback relay gathers on 127.0.0.1 only', () => {
    assert.equal(datagramConfigFromEnv({ HAVATAR_RELAY_DATAGRAM: 'off' }), null);
    assert.deepEqual(datagramConfigFromEnv({}, '127.0.0.1'), { addresses: ['127.0.0.1'], ports: null, publicHosts: [] });
    assert.deepEqual(datagramConfigFromEnv({}), { addresses: [], ports: null, publicHosts: [] });
    assert.deepEqual(datagramConfigFromEnv({ HAVATAR_RELAY_ICE_ADDRESSES: '10.77.1.1, 10.77.2.1', HAVATAR_RELAY_UDP_PORTS: '40000-40031', HAVATAR_RELAY_PUBLIC_HOST: '203.0.113.7' }), {
      addresses: ['10.77.1.1', '10.77.2.1'], ports: [40000, 40031], publicHosts: ['203.0.113.7'],
    });
    for (const bad of ['40000', '40031-40000', '80-90', '40000-70000']) {
      assert.throws(() => datagramConfigFromEnv({ HAVATAR_RELAY_UDP_PORTS: bad }), /HAVATAR_RELAY_UDP_PORTS/, bad);
    }
  });
});
