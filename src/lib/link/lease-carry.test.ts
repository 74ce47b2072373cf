// The lease carried across a lost link: the relay (or the bridge) frees the lease of a socket that
// died, so a driver whose link comes back asks for it again by itself, unless someone else took it
// meanwhile; a viewer, or a driver who had let go, asks for nothing.

import { expect } from '@open-wc/testing';
import { msg, type LeaseStateMsg, type WelcomeMsg } from '../../../protocol/messages.ts';
import { FakeLink } from '../../test/fake-link.ts';
import { LeaseCarry } from './lease-carry.ts';
import { SwitchLink } from './switch-link.ts';

const welcome = (driver: string | null): WelcomeMsg =>
  msg<WelcomeMsg>({
    type: 'welcome', session: 'me', robot: 'sim', driver,
    audio: { format: 'pcm_s16le', rate: 16000, channels: 1, frameMs: 20 },
    limits: { deadmanMs: 250, maxTtlMs: 1000, sendIntervalMs: 50 }, serverTime: Date.now(),
  });

/** A link whose welcome the test sets, as WsLink does before it reports live. */
class WelcomingLink extends FakeLink {
  comeBack(driver: string | null): void {
    const w = welcome(driver);
    (this as unknown as { welcome: WelcomeMsg }).welcome = w;
    this.setState('live');
    this.receive(w);
  }
}

function rig(driving: boolean) {
  const inner = new WelcomingLink();
  const link = new SwitchLink(inner);
  new LeaseCarry(link);
  inner.comeBack(driving ? 'me' : null);
  if (driving) inner.receive(msg<LeaseStateMsg>({ type: 'lease', driver: 'me', driverName: 'ana', you: true }));
  inner.setState('degraded');
  inner.setState('lost');
  return inner;
}

describe('lease carried across a lost link', () => {
  it('a driver takes the lease again once the link is live, with nobody driving', () => {
    const link = rig(true);
    link.comeBack(null);
    expect(link.sentOfType('lease').map((m) => m.action)).to.deep.equal(['take']);
    link.setState('lost');
    link.comeBack(null);
    expect(link.sentOfType('lease'), 'asked once: the relay had not answered the first take').to.have.length(1);
  });

  it('does not take it from someone who drives now', () => {
    const link = rig(true);
    link.comeBack('someone-else');
    expect(link.sentOfType('lease')).to.deep.equal([]);
  });

  it('asks for nothing when it was not driving', () => {
    const link = rig(false);
    link.comeBack(null);
    expect(link.sentOfType('lease')).to.deep.equal([]);
  });
});
