// Reactive controller for driving: merges the touch stick, keyboard and gamepad into one sample
// the drive timer reads, and owns the safety rules — stop when the tab is hidden, the window
// loses focus, the link degrades or drops, or someone else becomes the driver — always with the
// reason shown to the operator.

import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { AppServices } from '../../app/services.ts';
import { DriveSender, type DriveSample, type HaltReason } from '../link/drive-sender.ts';
import { pollGamepads } from './gamepad.ts';
import { KeyboardTracker } from './keyboard.ts';
import { calibrationFrom, stickToTracks, STOPPED, ZERO, type Vec } from './mix.ts';
import { WakeLockHolder } from './wake-lock.ts';

export type InputSource = 'touch' | 'keyboard' | 'gamepad' | null;

export class DriveController implements ReactiveController {
  readonly sender: DriveSender;
  readonly keyboard: KeyboardTracker;
  readonly wakeLock = new WakeLockHolder();
  private stick: Vec = ZERO;
  private stickHeld = false;
  source: InputSource = null;
  private unsubs: (() => void)[] = [];

  constructor(private readonly host: ReactiveControllerHost, private readonly services: AppServices) {
    this.keyboard = new KeyboardTracker(() => this.stopNow('stop button'));
    this.sender = new DriveSender(
      services.queue,
      () => this.sample(),
      () => services.link.status.state === 'live' && services.robot.isDriver,
      () => host.requestUpdate(),
    );
    host.addController(this);
  }

  /** From the joystick element's events; the timer picks it up, nothing is sent from here. */
  setStick(vector: Vec, held: boolean): void {
    this.stick = vector;
    this.stickHeld = held;
  }

  stopNow(reason: HaltReason): void {
    this.sender.halt(reason);
  }

  get halted(): HaltReason | null {
    return this.sender.halted;
  }

  sample(): DriveSample {
    const cal = calibrationFrom(this.services.settings.value);
    const pad = pollGamepads();
    if (pad?.stop) {
      if (!this.sender.halted) this.sender.halt('stop button');
      return { held: true, tracks: STOPPED };
    }
    let source: InputSource = null;
    let vector: Vec = ZERO;
    if (this.stickHeld) [source, vector] = ['touch', this.stick];
    else if (pad?.active) [source, vector] = ['gamepad', pad.vector];
    else if (this.keyboard.active) [source, vector] = ['keyboard', this.keyboard.vector()];
    if (source !== this.source) {
      this.source = source;
      this.host.requestUpdate();
    }
    return { held: source !== null, tracks: source ? stickToTracks(vector, cal) : STOPPED };
  }

  private guard(reason: HaltReason): void {
    if (this.sender.sending || this.source !== null) this.sender.halt(reason);
  }

  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'hidden') this.guard('tab hidden');
    void this.syncWakeLock();
  };
  private readonly onBlur = (): void => this.guard('window lost focus');

  private syncWakeLock(): Promise<void> {
    return this.wakeLock.sync(this.services.robot.isDriver && this.services.link.status.state === 'live');
  }

  hostConnected(): void {
    const { link, robot } = this.services;
    this.keyboard.attach();
    document.addEventListener('visibilitychange', this.onVisibility);
    window.addEventListener('blur', this.onBlur);
    this.unsubs = [
      link.on('status', (s) => {
        if (s.state === 'degraded') this.guard('link degraded');
        else if (s.state === 'lost' || s.state === 'closed') this.guard('link lost');
        void this.syncWakeLock();
      }),
      robot.on('change', () => {
        if (!robot.isDriver && this.sender.sending) this.sender.halt('not the driver');
        void this.syncWakeLock();
      }),
    ];
    this.sender.start();
    void this.syncWakeLock();
  }

  hostDisconnected(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.keyboard.detach();
    document.removeEventListener('visibilitychange', this.onVisibility);
    window.removeEventListener('blur', this.onBlur);
    this.sender.stop();
    this.stickHeld = false;
    void this.wakeLock.sync(false);
  }
}
