// The lease carried across a path switch. The robot's driver on one path is nobody on the other:
// an operator who was driving asks for the lease again once the new path is live (driving itself
// stays halted until the stick is released).

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
      if (s.state === 'live' && this.retake) this.take();
    });
  }

  /** The path is switching now. */
  switching(): void {
    this.retake = this.driving;
  }

  private take(): void {
    this.retake = false;
    this.link.send({ v: 1, type: 'lease', action: 'take' });
  }
}
