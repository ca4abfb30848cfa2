/** Runs at most `limit` tasks at once, the rest waiting in FIFO order. */
export class ConcurrencyLimiter {
  private running = 0;
  private peak = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so `running` never overshoots.
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Tasks running now, waiting, and the most ever running at once. */
  stats(): { running: number; waiting: number; peak: number } {
    return { running: this.running, waiting: this.queue.length, peak: this.peak };
  }
}
