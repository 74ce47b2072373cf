// Reactive controller: re-renders its host whenever the link, the robot's state or the command
// queue changes, and gives the host read access to all three.

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

  hostConnected(): void {
    const update = (): void => this.host.requestUpdate();
    this.unsubs = [
      this.services.link.on('status', update),
      this.services.robot.on('change', update),
      this.services.queue.on('change', update),
    ];
  }

  hostDisconnected(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
  }
}
