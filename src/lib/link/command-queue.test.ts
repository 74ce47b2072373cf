import { expect } from '@open-wc/testing';
import { msg, type TtsResultMsg, type AckMsg } from '../../../protocol/messages.ts';
import { openHavatarDb } from '../storage/db.ts';
import { FakeLink, uniqueDbName } from '../../test/fake-link.ts';
import { waitFor } from '../../../common/wait.ts';
import { CommandQueue, idbOutbox } from './command-queue.ts';

function setup(opts: { now?: () => number; actionTtlMs?: number } = {}) {
  const link = new FakeLink();
  const db = openHavatarDb(uniqueDbName());
  const store = idbOutbox(db);
  const queue = new CommandQueue(link, store, opts);
  return { link, db, store, queue };
}

describe('command queue', () => {
  it('sends drive commands with rising sequence numbers and a ttl while live', () => {
    const { link, queue } = setup();
    link.setState('live');
    queue.sendDrive({ left: 0.5, right: 0.4 });
    queue.sendDrive({ left: 0.6, right: 0.4 });
    const drives = link.sentOfType('drive');
    expect(drives).to.have.length(2);
    expect(drives[1]!.seq).to.be.greaterThan(drives[0]!.seq);
    expect(drives[0]!.ttl).to.be.within(1, 1000);
    expect(drives[0]).to.include({ left: 0.5, right: 0.4 });
  });

  it('never queues a drive command made offline: nothing goes out on reconnect', async () => {
    const { link, queue, store } = setup();
    link.setState('lost');
    expect(queue.sendDrive({ left: 1, right: 1 })).to.equal(false);
    expect(queue.droppedDrives).to.equal(1);
    link.setState('live');
    await queue.flush();
    expect(link.sentOfType('drive')).to.have.length(0);
    expect(await store.all()).to.have.length(0);
  });

  it('does not drive on a degraded link, but still sends stop', () => {
    const { link, queue } = setup();
    link.setState('degraded');
    expect(queue.sendDrive({ left: 1, right: 1 })).to.equal(false);
    expect(queue.sendStop()).to.equal(true);
    expect(link.sentOfType('stop')).to.have.length(1);
  });

  it('keeps text-to-speech made offline as pending in IndexedDB and sends it once on reconnect', async () => {
    const { link, queue, store } = setup();
    link.setState('lost');
    const view = await queue.say('hello from the road');
    expect(view.state).to.equal('pending');
    expect(await store.all()).to.have.length(1);
    link.setState('live'); // the queue flushes by itself
    await waitFor('tts sent', () => link.sentOfType('tts').length === 1, undefined, 2000);
    await queue.flush();
    link.setState('lost');
    link.setState('live');
    await queue.flush();
    expect(link.sentOfType('tts')).to.have.length(1);
    expect(link.sentOfType('tts')[0]!.text).to.equal('hello from the road');
    expect(await store.all()).to.have.length(0);
    expect(queue.actions.find((a) => a.id === view.id)!.state).to.equal('sent');
  });

  it('drops a queued action whose time-to-live passed while offline, and shows it expired', async () => {
    let now = 1_000_000;
    const { link, queue, store } = setup({ now: () => now, actionTtlMs: 1000 });
    link.setState('lost');
    const view = await queue.say('too late');
    now += 5000;
    link.setState('live');
    await queue.flush();
    expect(link.sentOfType('tts')).to.have.length(0);
    expect(await store.all()).to.have.length(0);
    expect(queue.actions.find((a) => a.id === view.id)!.state).to.equal('expired');
  });

  it('sends pending actions a previous page stored, after a reload', async () => {
    const name = uniqueDbName();
    const first = new CommandQueue(new FakeLink(), idbOutbox(openHavatarDb(name)));
    await first.say('left over');
    const link = new FakeLink();
    const second = new CommandQueue(link, idbOutbox(openHavatarDb(name)));
    await second.restore();
    expect(second.actions.map((a) => a.state)).to.deep.equal(['pending']);
    link.setState('live');
    await waitFor('restored tts sent', () => link.sentOfType('tts').length === 1, undefined, 2000);
  });

  it('marks an action spoken when the robot confirms it, and measures command round trip from acks', async () => {
    let now = 5000;
    const { link, queue } = setup({ now: () => now });
    link.setState('live');
    const view = await queue.say('hi');
    expect(view.state).to.equal('sent');
    link.receive(msg<TtsResultMsg>({ type: 'tts_result', id: view.id, ok: true }));
    expect(queue.actions.find((a) => a.id === view.id)!.state).to.equal('done');
    queue.sendDrive({ left: 0, right: 0 });
    const sent = link.sentOfType('drive')[0]!;
    now += 42;
    link.receive(msg<AckMsg>({ type: 'ack', seq: sent.seq, t: sent.t, result: 'applied' }));
    expect(queue.commandRttMs).to.equal(42);
  });
});
