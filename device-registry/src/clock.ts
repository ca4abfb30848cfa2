/** Time source, injected so expiry and rate limits are tested without sleeping. */
export interface Clock {
  /** ms since the Unix epoch. */
  now(): number;
}

export function systemClock(): Clock {
  return { now: () => Date.now() };
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = Date.UTC(2030, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
