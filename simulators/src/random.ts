/** A source of uniform numbers in [0, 1). Seeded so tests and demos are reproducible. */
export type Random = () => number;

/** mulberry32: small, fast, good enough for simulation noise and fault dice. */
export function createRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for an independent stream named by key (FNV-1a of "seed:key"), so adding a device does not shift the others. */
export function deriveSeed(seed: number, key: string): number {
  let h = 0x811c9dc5;
  const s = `${seed}:${key}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Smooth, deterministic noise: a sum of sines with seeded phases, a pure function of time, so a
 * value read lazily at any moment is reproducible and never jumps. Peak |value| <= amplitude.
 */
export function smoothNoise(random: Random, amplitude: number, periodsMs: readonly number[]): (t: number) => number {
  const parts = periodsMs.map((period) => ({ period, phase: random() * 2 * Math.PI }));
  const each = parts.length > 0 ? amplitude / parts.length : 0;
  return (t) => {
    let sum = 0;
    for (const p of parts) sum += Math.sin((2 * Math.PI * t) / p.period + p.phase);
    return sum * each;
  };
}
