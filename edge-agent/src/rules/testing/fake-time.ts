import type { RuleScheduler, TimerHandle } from '../rule-context.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Fake clock and scheduler for rule tests: time moves only when the test advances it, and the
 * timers due on the way run in time order with the clock set to each one's time.
 */
export class FakeTime implements RuleScheduler {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(startMs: number) {
    this.t = startMs;
  }

  readonly clock = { now: () => this.t };

  now(): number {
    return this.t;
  }

  setTimer(atMs: number, fn: () => void): TimerHandle {
    const p: Pending = { at: Math.max(atMs, this.t), seq: this.seq++, fn, cancelled: false };
    this.pending.push(p);
    return p;
  }

  cancel(handle: TimerHandle): void {
    (handle as Pending).cancelled = true;
  }

  /** Timers not yet run nor cancelled. */
  get timers(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Moves the clock to atMs, running every timer due on the way (including ones they set). */
  advanceTo(atMs: number): void {
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.pending) if (p.at <= atMs && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (!next) break;
      this.pending.splice(this.pending.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = Math.max(this.t, atMs);
  }

  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  /**
   * advanceTo, letting promises settle after each timer, as the event loop does between real
   * timers (a write's completion is seen before the next pulse of a siren).
   */
  async advanceToAsync(atMs: number): Promise<void> {
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.pending) if (p.at <= atMs && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (!next) break;
      this.pending.splice(this.pending.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = Math.max(this.t, atMs);
    await settle();
  }
}

/** Lets chains of already-resolved promises run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
