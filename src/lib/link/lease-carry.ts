// The lease carried across a path switch, and across a lost link. The robot's driver on one path
// is nobody on the other, and the relay (or the bridge) frees the lease of a socket that died: an
// operator who was driving asks for the lease again once the link is live, unless someone else
// took it meanwhile (driving itself stays halted until the stick is released).

import type { RobotMessage } from '../../../protocol/messages.ts';
import type { SwitchLink } from './switch-link.ts';

export class LeaseCarry {
  /** The last lease or welcome said this app holds the lease. */
  private driving = false;
  /** Set on a switch when the operator was driving: take the lease again on the new path. */
  private retake = false;

  constructor(private readonly link: SwitchLink) {
    link.on('message', (m: RobotMessage) => {
      if (m.type === 'lease') this.driving = m.you;
      else if (m.type === 'welcome') this.driving = m.driver !== null && m.driver === m.session;
    });
    link.on('status', (s) => {
      if (s.state === 'lost' && this.driving) this.retake = true;
      if (s.state === 'live' && this.retake) this.take();
    });
  }

  /** The path is switching now. */
  switching(): void {
    this.retake = this.driving;
  }

  private take(): void {
    this.retake = false;
    const w = this.link.welcome;
    if (w && w.driver !== null && w.driver !== w.session) return; // someone else drives now
    this.link.send({ v: 1, type: 'lease', action: 'take' });
  }
}
