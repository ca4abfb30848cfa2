import * as z from 'zod';
import { smoothNoise, type Random } from '../random.js';

const HOUR = 3_600_000;

/** Options shared by the water-level models: one flood cycle of a river (stage in metres on the station datum). */
export const riverOptions = {
  /** Stage between floods. */
  baseStage: z.number().min(0).max(100).default(0.8),
  /** Crest of the flood wave (Dong Ha on the Hieu river crested at 5.36 m in Oct 2020). */
  peakStage: z.number().min(0).max(100).default(5.3),
  /** Length of one cycle (quiet water, then the flood wave) in simulated hours. */
  periodHours: z.number().positive().max(24 * 365).default(24),
  /** Where in the cycle the simulation starts, 0..1 (0 = start of the quiet part, 0.45 = near the crest). */
  phase: z.number().min(0).max(1).default(0),
  /** Amplitude of the slow ripple on the surface, metres. */
  noiseM: z.number().min(0).max(1).default(0.005),
};
export type RiverOptions = z.infer<z.ZodObject<typeof riverOptions>>;

/** Part of the cycle spent at base stage before the wave arrives. */
const QUIET = 0.2;
/** Skew of the wave: x^0.6 puts the crest at ~31 % of the wave, so it rises faster than it falls, as a flood does. */
const SKEW = 0.6;

/**
 * A river hydrograph as a pure function of simulated time: base stage, then a smooth skewed
 * flood wave up to the crest and a slower recession back to base, with a small ripple. Never
 * negative, continuous across cycles (the wave is exactly 0 at both ends).
 */
export class RiverModel {
  private readonly noise: (t: number) => number;

  constructor(
    private readonly options: RiverOptions,
    private readonly simStart: number,
    random: Random,
  ) {
    this.noise = smoothNoise(random, options.noiseM, [47_000, 260_000, 1_020_000]);
  }

  /** Fraction 0..1 of the flood wave's height at time t (0 outside the wave). */
  wave(t: number): number {
    const cycles = (t - this.simStart) / (this.options.periodHours * HOUR) + this.options.phase;
    const p = cycles - Math.floor(cycles);
    if (p < QUIET) return 0;
    const x = (p - QUIET) / (1 - QUIET);
    return Math.sin(Math.PI * Math.pow(x, SKEW)) ** 2;
  }

  /** Water stage in metres at simulated time t. */
  stage(t: number): number {
    const { baseStage, peakStage } = this.options;
    return Math.max(0, baseStage + (peakStage - baseStage) * this.wave(t) + this.noise(t));
  }
}
