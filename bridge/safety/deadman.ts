// Stops the robot when whoever is driving goes quiet. Armed by a moving command, fed by every
// drive/motor/heartbeat, fires once when unfed for `timeoutMs`, then stays quiet until re-armed.
// One timer, rescheduled lazily, so feeding at 30 Hz costs nothing.
//
// The silence is counted from when the driver *sent* its last sign of life, not from when it
// reached us: a feed says how long ago it was sent (`agoMs`, from the command gate's pace). A
// message held up in a stalled socket must not buy the robot more time than the driver gave it,
// or a driver who left during a stall would be stopped up to a stall later than the rule says.

export class Deadman {
  private lastFed = 0;
  private timer: NodeJS.Timeout | null = null;
  private armed = false;

  constructor(private timeoutMs: number, private onExpire: (silentMs: number) => void, private now: () => number = () => performance.now()) {}

  get isArmed(): boolean {
    return this.armed;
  }

  get timeout(): number {
    return this.timeoutMs;
  }

  setTimeout(ms: number): void {
    this.timeoutMs = ms;
  }

  /** Starts watching (a command that moves the robot), sent `agoMs` ago. */
  arm(agoMs = 0): void {
    if (!this.armed) this.lastFed = -Infinity;
    this.armed = true;
    this.feed(agoMs);
  }

  /**
   * Records a sign of life from the driver, sent `agoMs` ago. An older sign than one already
   * seen changes nothing (the deadline only moves later).
   */
  feed(agoMs = 0): void {
    this.lastFed = Math.max(this.lastFed, this.now() - Math.max(0, agoMs));
    if (this.armed && !this.timer) this.schedule(this.timeoutMs - (this.now() - this.lastFed));
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
        this.onExpire(silent);
      } else {
        this.schedule(this.timeoutMs - silent);
      }
    }, Math.max(1, Math.ceil(ms)));
    this.timer.unref?.();
  }
}
