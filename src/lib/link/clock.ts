// Estimates robot clock minus app clock from robot-stamped messages (welcome.serverTime,
// telemetry.ts). Each sample `received - robotTs` is the true offset plus that message's one-way
// delay; the smallest recent sample is the least delayed, and half the best round trip stands in
// for its remaining one-way delay. On one machine this converges to ~0, as it should.

const WINDOW = 50;

export class ClockOffset {
  private samples: number[] = [];
  private bestRtt: number | null = null;

  /** A robot timestamp, and the app time it arrived. */
  sample(robotTs: number, receivedAt: number): void {
    this.samples.push(receivedAt - robotTs);
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  roundTrip(rttMs: number): void {
    if (rttMs >= 0 && (this.bestRtt === null || rttMs < this.bestRtt)) this.bestRtt = rttMs;
  }

  /** Robot clock minus app clock, ms; null before the first sample. */
  get offsetMs(): number | null {
    if (!this.samples.length) return null;
    const minDelay = Math.min(...this.samples);
    return -(minDelay - (this.bestRtt ?? 0) / 2);
  }

  /** A robot timestamp on the app's clock. */
  toLocal(robotTs: number): number {
    return robotTs - (this.offsetMs ?? 0);
  }

  reset(): void {
    this.samples = [];
    this.bestRtt = null;
  }
}
