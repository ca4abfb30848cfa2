export interface BackoffOptions {
  /** Ceiling of the first delay. */
  minMs: number;
  /** Largest ceiling. */
  maxMs: number;
  /** Uniform in [0, 1): the jitter source. */
  random: () => number;
}

/** The ceiling of the delay before attempt n (0-based): min * 2^n, capped at max. */
export function backoffCeiling(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt, 0), 52));
}

/**
 * Capped exponential backoff with full jitter: a delay uniform in [0, ceiling). Spreads the
 * reconnects of a fleet of gateways over the whole window when a broker comes back.
 */
export function fullJitterDelay(attempt: number, opts: BackoffOptions): number {
  const r = Math.min(Math.max(opts.random(), 0), 1);
  return Math.floor(r * backoffCeiling(attempt, opts.minMs, opts.maxMs));
}

/** A reconnect schedule: next() gives the next delay and advances; reset() after a stable connection. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    const delay = fullJitterDelay(this.attempt, this.opts);
    if (this.attempt < 64) this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
