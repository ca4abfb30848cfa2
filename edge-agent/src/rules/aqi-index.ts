import type { AqiPollutant } from '@cityedge/contract';
import { epaPm25Aqi, nowCast, roundHalfUp, vnSubIndex } from './vn-aqi.js';

export const PM: readonly AqiPollutant[] = ['pm2_5', 'pm10'];
export const GASES: readonly AqiPollutant[] = ['o3', 'no2', 'so2', 'co'];

/** Hourly means of one pollutant, newest first: c[0] the hour just ended; undefined = missing. */
export type HourSeries = ReadonlyArray<number | undefined>;

export interface HourlyAqi {
  /** VN_AQI, or undefined when neither PM has a NowCast. */
  aqi: number | undefined;
  subIndices: Partial<Record<AqiPollutant, number>>;
  nowCast: Partial<Record<'pm2_5' | 'pm10', number>>;
  /** US EPA AQI from the PM2.5 NowCast. */
  epa: number | undefined;
}

/** The hourly VN_AQI: NowCast for PM2.5 and PM10, the 1-hour mean for gases (O3: the 1 h column). */
export function hourlyAqi(series: Partial<Record<AqiPollutant, HourSeries>>): HourlyAqi {
  const subIndices: Partial<Record<AqiPollutant, number>> = {};
  const nc: Partial<Record<'pm2_5' | 'pm10', number>> = {};
  for (const p of PM as Array<'pm2_5' | 'pm10'>) {
    const s = series[p];
    const n = s && nowCast(s);
    if (!n) continue;
    nc[p] = n.value;
    const si = vnSubIndex(p, n.value);
    if (si !== undefined) subIndices[p] = si;
  }
  for (const p of GASES) {
    const c1 = series[p]?.[0];
    if (c1 === undefined) continue;
    const si = vnSubIndex(p, c1);
    if (si !== undefined) subIndices[p] = si;
  }
  const hasPm = subIndices.pm2_5 !== undefined || subIndices.pm10 !== undefined;
  const values = Object.values(subIndices);
  return { aqi: hasPm ? Math.max(...values) : undefined, subIndices, nowCast: nc, epa: nc.pm2_5 !== undefined ? epaPm25Aqi(nc.pm2_5) : undefined };
}

/** What a day's hourly means reduce to, per the decision (each undefined when coverage is short). */
export interface DailyInputs {
  /** Mean of the day's hourly means. */
  pm2_5?: number | undefined;
  pm10?: number | undefined;
  /** Highest 1-hour means. */
  so2?: number | undefined;
  no2?: number | undefined;
  co?: number | undefined;
  o3_1h?: number | undefined;
  /** Highest 8-hour mean of O3. */
  o3_8h?: number | undefined;
}

export interface DailyAqi {
  aqi: number | undefined;
  subIndices: Partial<Record<AqiPollutant | 'o3_8h' | 'o3_1h', number>>;
  epa: number | undefined;
}

/**
 * The daily VN_AQI: PM from the daily mean, SO2/NO2/CO from the highest hour, O3 the larger of
 * the 1 h sub-index and the highest 8 h mean's sub-index (the 8 h one skipped above 400 ug/m3).
 */
export function dailyAqi(d: DailyInputs): DailyAqi {
  const si: DailyAqi['subIndices'] = {};
  for (const p of ['pm2_5', 'pm10', 'so2', 'no2', 'co'] as const) {
    const c = d[p];
    const v = c === undefined ? undefined : vnSubIndex(p, c);
    if (v !== undefined) si[p] = v;
  }
  const o1 = d.o3_1h === undefined ? undefined : vnSubIndex('o3', d.o3_1h);
  const o8 = d.o3_8h === undefined ? undefined : vnSubIndex('o3_8h', d.o3_8h);
  if (o1 !== undefined) si.o3_1h = o1;
  if (o8 !== undefined) si.o3_8h = o8;
  if (o1 !== undefined || o8 !== undefined) si.o3 = Math.max(o1 ?? 0, o8 ?? 0);
  const hasPm = si.pm2_5 !== undefined || si.pm10 !== undefined;
  const values = [si.pm2_5, si.pm10, si.so2, si.no2, si.co, si.o3].filter((v): v is number => v !== undefined);
  return { aqi: hasPm ? Math.max(...values) : undefined, subIndices: si, epa: d.pm2_5 !== undefined ? epaPm25Aqi(d.pm2_5) : undefined };
}

/** Daily inputs from the day's hourly means (oldest first, undefined = missing) and, for O3 8 h, the 7 hours before. */
export function dailyInputs(day: Partial<Record<AqiPollutant, HourSeries>>, o3Before: HourSeries, minHours: number): DailyInputs {
  const present = (s: HourSeries | undefined) => (s ?? []).filter((v): v is number => v !== undefined);
  const out: DailyInputs = {};
  for (const p of PM as Array<'pm2_5' | 'pm10'>) {
    const v = present(day[p]);
    if (v.length >= minHours) out[p] = v.reduce((a, b) => a + b, 0) / v.length;
  }
  for (const p of ['so2', 'no2', 'co'] as const) {
    const v = present(day[p]);
    if (v.length >= minHours) out[p] = Math.max(...v);
  }
  const o3 = day.o3 ?? [];
  const o3v = present(o3);
  if (o3v.length >= minHours) out.o3_1h = Math.max(...o3v);
  // 8-hour means ending at each hour of the day, each needing 6 of its 8 hours.
  const all = [...o3Before.slice(-7), ...o3];
  const offset = all.length - o3.length;
  const means: number[] = [];
  for (let i = 0; i < o3.length; i++) {
    const w = all.slice(Math.max(0, offset + i - 7), offset + i + 1).filter((v): v is number => v !== undefined);
    if (w.length >= 6) means.push(w.reduce((a, b) => a + b, 0) / w.length);
  }
  if (means.length >= minHours) out.o3_8h = Math.max(...means);
  return out;
}

export { roundHalfUp };
