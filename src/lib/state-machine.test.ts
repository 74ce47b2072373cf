// The shared state machine and timer set: only listed transitions happen, an illegal one throws
// where tests run and is logged and refused in the production build, and clearAll() leaves no timer.

import { expect } from '@open-wc/testing';
import { FakeClock } from '../test/fake-clock.ts';
import { STRICT_TRANSITIONS, StateMachine, Timers, type Transitions } from '../../common/state-machine.ts';

type Door = 'shut' | 'open' | 'locked';
const DOOR: Transitions<Door> = { shut: ['open', 'locked'], open: ['shut'], locked: ['shut'] };

describe('state machine', () => {
  it('moves only along the listed transitions', () => {
    const m = new StateMachine<Door>('door', 'shut', DOOR);
    expect(m.to('open')).to.equal(true);
    expect(m.state).to.equal('open');
    expect(m.can('locked')).to.equal(false);
    expect(m.is('open', 'shut')).to.equal(true);
  });

  it('is strict where the tests run: an illegal transition throws and the state stays', () => {
    expect(STRICT_TRANSITIONS).to.equal(true);
    const m = new StateMachine<Door>('door', 'open', DOOR);
    expect(() => m.to('locked')).to.throw(/door: illegal transition open → locked/);
    expect(m.state).to.equal('open');
  });

  it('in the production build an illegal transition is logged loudly and refused', () => {
    const m = new StateMachine<Door>('door', 'open', DOOR, false);
    const saved = console.error;
    const lines: string[] = [];
    console.error = (line: string) => void lines.push(line);
    try {
      expect(m.to('locked')).to.equal(false);
    } finally {
      console.error = saved;
    }
    expect(m.state).to.equal('open');
    expect(lines).to.deep.equal(['door: illegal transition open → locked (refused)']);
  });
});

describe('timer set', () => {
  it('replaces a named timer, forgets one that ran, and clearAll() leaves none', async () => {
    const clock = FakeClock.install();
    try {
      const t = new Timers();
      const ran: string[] = [];
      t.after(10, () => ran.push('a'), 'x');
      t.after(20, () => ran.push('b'), 'x');
      t.after(5, () => ran.push('anon'));
      t.every(7, () => ran.push('tick'), 'poll');
      expect(t.size).to.equal(3);
      expect(clock.pending).to.equal(3);
      await clock.advance(8);
      expect(ran).to.deep.equal(['anon', 'tick']);
      expect(t.size).to.equal(2);
      t.clearAll();
      expect(t.size).to.equal(0);
      expect(clock.pending).to.equal(0);
      await clock.advance(1000);
      expect(ran).to.deep.equal(['anon', 'tick']);
    } finally {
      clock.uninstall();
    }
  });
});
