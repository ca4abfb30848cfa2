import type { Clock } from '../clock.js';

export interface RateLimit {
  /** Attempts allowed per window and key. */
  max: number;
  windowMs: number;
}

/**
 * Fixed-window counter per key (source address). Memory stays bounded: expired windows are
 * swept when the map grows, and at most `maxKeys` are tracked (the oldest go first).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one attempt; returns 0 when allowed, else the seconds until the window resets. */
  hit(key: string): number {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.limit.windowMs) {
      if (this.windows.size >= this.maxKeys) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.delete(key);
      this.windows.set(key, w);
    }
    w.count++;
    if (w.count <= this.limit.max) return 0;
    return Math.max(1, Math.ceil((w.start + this.limit.windowMs - now) / 1000));
  }

  /** Like hit without counting: 0 when the key is under its limit, else the seconds to wait. */
  peek(key: string): number {
    const now = this.clock.now();
    const w = this.windows.get(key);
    if (!w || now - w.start >= this.limit.windowMs || w.count < this.limit.max) return 0;
    return Math.max(1, Math.ceil((w.start + this.limit.windowMs - now) / 1000));
  }

  /** Forgets the key's attempts (e.g. a successful sign-in). */
  reset(key: string): void {
    this.windows.delete(key);
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.limit.windowMs) this.windows.delete(k);
    while (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next().value;
      if (oldest === undefined) break;
      this.windows.delete(oldest);
    }
  }
}
