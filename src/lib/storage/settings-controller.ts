// Reactive controller: the current settings, re-rendering the host when they change.

import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { SettingsStore } from './settings-store.ts';
import type { Settings } from './settings.ts';

export class SettingsController implements ReactiveController {
  private unsub: (() => void) | null = null;

  constructor(private readonly host: ReactiveControllerHost, readonly store: SettingsStore) {
    host.addController(this);
  }

  get value(): Settings {
    return this.store.value;
  }

  hostConnected(): void {
    this.unsub = this.store.subscribe(() => this.host.requestUpdate());
  }

  hostDisconnected(): void {
    this.unsub?.();
    this.unsub = null;
  }
}
