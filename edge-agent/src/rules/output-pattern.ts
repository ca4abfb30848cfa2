import { OUTPUT_PATTERN } from '@cityedge/contract';

/** A warning output's pattern, parsed: steady on, or pulses (optionally in bursts). */
export type OutputPattern = { kind: 'steady' } | { kind: 'pulse'; onMs: number; offMs: number; count?: number; everyMs?: number };

export function parsePattern(text: string): OutputPattern {
  const m = OUTPUT_PATTERN.exec(text);
  if (!m) throw new Error(`bad output pattern "${text}"`);
  if (m[1] === 'steady') return { kind: 'steady' };
  const onMs = Number(m[2]);
  const offMs = Number(m[3]);
  if (m[4] === undefined) return { kind: 'pulse', onMs, offMs };
  const count = Number(m[5]);
  // A burst longer than its cadence would overlap the next one: it then just repeats.
  const everyMs = Math.max(Number(m[6]), count * (onMs + offMs));
  return { kind: 'pulse', onMs, offMs, count, everyMs };
}

/**
 * Whether the output is on `r` ms after the pattern started, and how many ms after the start
 * its next change is due (Infinity for steady). Computed from the start, so edges never drift.
 */
export function patternAt(p: OutputPattern, r: number): { on: boolean; nextEdge: number } {
  if (p.kind === 'steady') return { on: true, nextEdge: Infinity };
  const period = p.onMs + p.offMs;
  if (p.count === undefined || p.everyMs === undefined) {
    const cycleStart = Math.floor(r / period) * period;
    const pos = r - cycleStart;
    return pos < p.onMs ? { on: true, nextEdge: cycleStart + p.onMs } : { on: false, nextEdge: cycleStart + period };
  }
  const burstStart = Math.floor(r / p.everyMs) * p.everyMs;
  const pos = r - burstStart;
  const k = Math.floor(pos / period);
  if (k >= p.count) return { on: false, nextEdge: burstStart + p.everyMs };
  const inPulse = pos - k * period;
  return inPulse < p.onMs ? { on: true, nextEdge: burstStart + k * period + p.onMs } : { on: false, nextEdge: burstStart + (k + 1 === p.count ? p.everyMs : (k + 1) * period) };
}
