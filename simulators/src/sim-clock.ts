/** Wall clock in epoch milliseconds; injected so tests drive time by hand. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Simulated time: runs timeScale times faster than the injected clock from an anchor, so a
 * demo can show a day-long flood in minutes. Changing the scale re-anchors, keeping time continuous.
 */
export class SimClock {
  private anchorReal: number;
  private anchorSim: number;
  private scale: number;

  constructor(
    private readonly clock: Clock,
    options: { timeScale?: number; startTime?: number } = {},
  ) {
    this.anchorReal = clock.now();
    this.anchorSim = options.startTime ?? this.anchorReal;
    this.scale = options.timeScale ?? 1;
  }

  get timeScale(): number {
    return this.scale;
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    return this.anchorSim + (this.clock.now() - this.anchorReal) * this.scale;
  }

  setTimeScale(timeScale: number): void {
    const sim = this.now();
    this.anchorReal = this.clock.now();
    this.anchorSim = sim;
    this.scale = timeScale;
  }
}
