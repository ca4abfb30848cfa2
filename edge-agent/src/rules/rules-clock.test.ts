import { afterEach, describe, expect, it, vi } from 'vitest';
import { timeoutScheduler } from './rule-context.js';
import { rulesTime } from './rules-clock.js';

describe('a fast clock for the rules (the demo)', () => {
  afterEach(() => vi.useRealTimers());

  it('maps readings and events to the rules clock and what the rules produce back, exactly', () => {
    const t = rulesTime({ anchorAgent: 1_000_000, anchorRules: 5_000_000, scale: 720 });
    expect(t.toRules(1_001_000)).toBe(5_000_000 + 720_000); // one real second is 12 simulated minutes
    expect(t.toAgent(t.toRules(1_234_567))).toBe(1_234_567);
    const [r] = t.readingsToRules([{ dev: 'river-radar', pt: 'pv', ts: 1_000_500, v: 2.3, q: 'good' }]);
    expect(r).toEqual({ dev: 'river-radar', pt: 'pv', ts: 5_360_000, v: 2.3, q: 'good' });
    expect(t.eventToAgent({ type: 'flood.level', ts: 5_360_000, severity: 'alarm', message: 'BD I' }).ts).toBe(1_000_500);
    const same = rulesTime(undefined);
    expect(same.toRules(42)).toBe(42);
    expect(() => rulesTime({ anchorAgent: 0, anchorRules: 0, scale: 0 })).toThrow(/positive/);
  });

  it('fires a timer when the fast clock reaches it, scale times sooner in real time', () => {
    vi.useFakeTimers({ now: 0 });
    const t = rulesTime({ anchorAgent: 0, anchorRules: 0, scale: 720 });
    const clock = { now: () => t.toRules(Date.now()) };
    const fired: number[] = [];
    timeoutScheduler(clock, t.scale).setTimer(3_600_000, () => fired.push(clock.now())); // one simulated hour
    vi.advanceTimersByTime(4_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([3_600_000]);
  });
});
