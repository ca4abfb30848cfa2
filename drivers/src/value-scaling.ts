import type { PointSpec } from '@cityedge/contract';
import { CodecError } from './codec-error.js';

/** decimalsFrom values are clamped to this range: no field device reports more decimals than this. */
export const MAX_DECIMALS = 6;

export function clampDecimals(decimals: number): number {
  if (!Number.isFinite(decimals)) return 0;
  return Math.min(MAX_DECIMALS, Math.max(0, Math.round(decimals)));
}

/** A decoded or scaled value fit to report: a finite number, a boolean or a string (not NaN or Infinity). */
export function isValidValue(value: unknown): value is number | boolean | string {
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'boolean' || typeof value === 'string';
}

/**
 * Engineering value of a raw number: raw * (scale ?? 1) + (offset ?? 0), divided by 10^decimals
 * when the point has `decimalsFrom` (`decimals` is the raw value of that other point, clamped to
 * 0..6). The result is rounded to the decimals the inputs can carry, so 231 * 0.1 gives 23.1 and
 * not 23.100000000000001; a float32 is first reduced to the shortest decimal that reads back as
 * the same float32 (23.100000381 -> 23.1). NaN and Infinity pass through (see isValidValue); a
 * decimalsFrom point without `decimals` gives NaN, so it is flagged rather than reported wrong.
 */
export function scaleValue(point: PointSpec, raw: number, decimals?: number): number {
  if (!Number.isFinite(raw)) return raw;
  const clean = point.type === 'float32' ? shortestFloat32(raw) : raw;
  const scale = point.scale ?? 1;
  const offset = point.offset ?? 0;
  let d = 0;
  if (point.decimalsFrom !== undefined) {
    if (decimals === undefined || !Number.isFinite(decimals)) return Number.NaN;
    d = clampDecimals(decimals);
  }
  if (scale === 1 && offset === 0 && d === 0) return clean;
  const value = (clean * scale + offset) / 10 ** d;
  const places = Math.max(decimalPlaces(clean) + decimalPlaces(scale), decimalPlaces(offset)) + d;
  return roundTo(value, places);
}

/**
 * Raw number to write for an engineering value: the inverse of scaleValue. Integers are rounded
 * to the nearest whole number; the caller range-checks against the point's type.
 */
export function unscaleValue(point: PointSpec, value: number, decimals?: number): number {
  const scale = point.scale ?? 1;
  const offset = point.offset ?? 0;
  if (scale === 0) throw new CodecError('EDGE_POINT_INVALID', `point "${point.name}" has scale 0 and cannot be written`);
  let d = 0;
  if (point.decimalsFrom !== undefined) {
    if (decimals === undefined || !Number.isFinite(decimals)) {
      throw new CodecError(
        'EDGE_POINT_INVALID',
        `point "${point.name}" takes its decimals from "${point.decimalsFrom}": read that point and pass its value to write this one`,
      );
    }
    d = clampDecimals(decimals);
  }
  if (scale === 1 && offset === 0 && d === 0) return value;
  const raw = (value * 10 ** d - offset) / scale;
  // Undo float noise (12.34 * 100 = 1234.0000000000002) before the caller rounds or range-checks.
  return Number(raw.toPrecision(15));
}

/** The shortest decimal that reads back as the same float32. */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const f = Math.fround(value);
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

/** Digits after the decimal point in the shortest representation of x (0.1 -> 1, 1.5e-7 -> 8). */
function decimalPlaces(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return 0;
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(x)));
  if (!m) return 15;
  return Math.max(0, (m[2]?.length ?? 0) - Number(m[3] ?? 0));
}

function roundTo(value: number, places: number): number {
  if (!Number.isFinite(value)) return value;
  const fixed = places <= 15 ? Number(value.toFixed(places)) : value;
  const rounded = Number(fixed.toPrecision(15));
  return rounded === 0 ? 0 : rounded; // no -0
}
