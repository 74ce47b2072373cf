// Reactive controller: re-renders its host whenever the link, the robot's state, the command
// queue or the connection mode changes, and gives the host read access to all four.

import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { AppServices } from '../../app/services.ts';

export class ConnectionController implements ReactiveController {
  private unsubs: (() => void)[] = [];

  constructor(private readonly host: ReactiveControllerHost, readonly services: AppServices) {
    host.addController(this);
  }

  get status() {
    return this.services.link.status;
  }
  get robot() {
    return this.services.robot;
  }
  get queue() {
    return this.services.queue;
  }
  get link() {
    return this.services.link;
  }
  get mode() {
    return this.services.mode;
  }

  hostConnected(): void {
    const update = (): void => this.host.requestUpdate();
    this.unsubs = [
      this.services.link.on('status', update),
      this.services.robot.on('change', update),
      this.services.queue.on('change', update),
      this.services.mode.on('change', update),
    ];
  }

  hostDisconnected(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
  }
}
