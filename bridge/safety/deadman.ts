// Stops the robot when whoever is driving goes quiet. Armed by a moving command, fed by every
// drive/motor/heartbeat, fires once when unfed for `timeoutMs`, then stays quiet until re-armed.
// One timer, rescheduled lazily, so feeding at 30 Hz costs nothing.

export class Deadman {
  private lastFed = 0;
  private timer: NodeJS.Timeout | null = null;
  private armed = false;

  constructor(private timeoutMs: number, private onExpire: () => void, private now: () => number = () => performance.now()) {}

  get isArmed(): boolean {
    return this.armed;
  }

  setTimeout(ms: number): void {
    this.timeoutMs = ms;
  }

  /** Starts watching (a command that moves the robot). */
  arm(): void {
    this.armed = true;
    this.feed();
  }

  /** Records a sign of life from the driver. */
  feed(): void {
    this.lastFed = this.now();
    if (this.armed && !this.timer) this.schedule(this.timeoutMs);
  }

  /** Stops watching (robot stopped some other way, or shutting down). */
  disarm(): void {
    this.armed = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.armed) return;
      const silent = this.now() - this.lastFed;
      if (silent >= this.timeoutMs) {
        this.armed = false;
        this.onExpire();
      } else {
        this.schedule(this.timeoutMs - silent);
      }
    }, Math.max(1, ms));
    this.timer.unref?.();
  }
}
