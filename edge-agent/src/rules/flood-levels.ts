/** Flood alarm level names as alarm levels (bao dong I/II/III). */
export const LEVEL_NAMES = ['', 'BD_I', 'BD_II', 'BD_III'] as const;

/**
 * The level a stage asks for, given the level in force: rising takes the highest threshold
 * reached; falling lowers only below threshold - hysteresis, so a stage hovering at a threshold
 * stays at one level.
 */
export function targetLevel(stage: number, current: number, thresholds: readonly [number, number, number], hysteresis: number): number {
  const raw = thresholds.filter((t) => stage >= t).length;
  if (raw > current) return raw;
  const held = thresholds.filter((t) => stage >= t - hysteresis).length;
  return Math.min(held, current);
}

/** Stage on the station datum from a sensor value. */
export function stageFrom(kind: 'radar' | 'level', value: number, datum: number, sensorHeight: number | undefined): number {
  return kind === 'radar' ? datum + (sensorHeight ?? 0) - value : value + datum;
}
