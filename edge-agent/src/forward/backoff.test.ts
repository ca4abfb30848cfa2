import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, fullJitterDelay } from './backoff.js';

describe('backoff', () => {
  it('doubles the ceiling from min and caps it at max', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffCeiling(n, 1000, 60_000))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    expect(backoffCeiling(10_000, 1000, 60_000)).toBe(60_000);
  });

  it('draws full jitter: random() scales the whole window, from 0 to just under the ceiling', () => {
    const opts = (r: number) => ({ minMs: 1000, maxMs: 60_000, random: () => r });
    expect(fullJitterDelay(3, opts(0))).toBe(0);
    expect(fullJitterDelay(3, opts(0.5))).toBe(4000);
    expect(fullJitterDelay(3, opts(0.999999))).toBe(7999);
    expect(fullJitterDelay(20, opts(0.25))).toBe(15_000);
  });

  it('advances on next() and starts over on reset()', () => {
    const values = [0.5, 0.5, 0.5, 0.9, 0.1];
    const b = new Backoff({ minMs: 100, maxMs: 500, random: () => values.shift() ?? 1 });
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 450]); // the last one capped at 500
    expect(b.attempts).toBe(4);
    b.reset();
    expect(b.next()).toBe(10);
  });

  it('spreads a fleet over the window instead of synchronising it', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 1000 }, () => fullJitterDelay(4, { minMs: 1000, maxMs: 60_000, random }));
    const buckets = new Array<number>(16).fill(0);
    for (const d of delays) buckets[Math.floor(d / 1000)]!++;
    expect(Math.max(...delays)).toBeLessThan(16_000);
    expect(Math.max(...buckets)).toBeLessThan(120); // no second holds more than ~2x its share of 62
  });
});
