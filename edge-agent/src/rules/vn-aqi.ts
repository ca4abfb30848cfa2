import { VN_AQI_CATEGORIES, type AqiPollutant, type VnAqiCategory } from '@cityedge/contract';

/**
 * VN_AQI by Decision 1459/QD-TCMT (2019) and the US EPA AQI for PM2.5 (2024 revision):
 * breakpoints, sub-indices, NowCast, categories. Pure functions; concentrations in ug/m3.
 */

const AQI_STEPS = [0, 50, 100, 150, 200, 300, 400, 500] as const;

/** Breakpoint concentrations at AQI 0/50/100/150/200/300/400/500 (ug/m3); O3 8 h ends at 300. */
export const VN_BREAKPOINTS: Readonly<Record<AqiPollutant | 'o3_8h', readonly number[]>> = {
  o3: [0, 160, 200, 300, 400, 800, 1000, 1200],
  o3_8h: [0, 100, 120, 170, 210, 400],
  co: [0, 10000, 30000, 45000, 60000, 90000, 120000, 150000],
  so2: [0, 125, 350, 550, 800, 1600, 2100, 2630],
  no2: [0, 100, 200, 700, 1200, 2350, 3100, 3850],
  pm10: [0, 50, 150, 250, 350, 420, 500, 600],
  pm2_5: [0, 25, 50, 80, 150, 250, 350, 500],
};

/** Rounds half up, after removing float noise (the decision's 109.5 is 110, whatever 109.49999999 says). */
export function roundHalfUp(x: number): number {
  return Math.floor(Number(x.toFixed(9)) + 0.5);
}

/**
 * Sub-index of one pollutant, unrounded: linear between the breakpoints around c. Above the
 * last breakpoint the index stays at the table's top; undefined for O3 8 h above 400 ug/m3 (the
 * decision then uses the 1 h value only).
 */
export function vnSubIndexRaw(pollutant: AqiPollutant | 'o3_8h', c: number): number | undefined {
  const bp = VN_BREAKPOINTS[pollutant];
  if (!(c >= 0)) return undefined;
  const top = bp.length - 1;
  if (c > (bp[top] ?? 0)) return pollutant === 'o3_8h' ? undefined : AQI_STEPS[top];
  for (let i = 0; i < top; i++) {
    const lo = bp[i] ?? 0;
    const hi = bp[i + 1] ?? 0;
    if (c <= hi) {
      const ilo = AQI_STEPS[i] ?? 0;
      const ihi = AQI_STEPS[i + 1] ?? 0;
      return ((ihi - ilo) / (hi - lo)) * (c - lo) + ilo;
    }
  }
  return AQI_STEPS[top];
}

export function vnSubIndex(pollutant: AqiPollutant | 'o3_8h', c: number): number | undefined {
  const raw = vnSubIndexRaw(pollutant, c);
  return raw === undefined ? undefined : roundHalfUp(raw);
}

export interface CategoryInfo {
  category: VnAqiCategory;
  /** 1 (Tot) .. 6 (Nguy hai). */
  index: number;
  name: string;
  rgb: readonly [number, number, number];
  /** #RRGGBB. */
  color: string;
}

const CATEGORY_TABLE: ReadonlyArray<{ upTo: number; name: string; rgb: readonly [number, number, number] }> = [
  { upTo: 50, name: 'Tot', rgb: [0, 228, 0] },
  { upTo: 100, name: 'Trung binh', rgb: [255, 255, 0] },
  { upTo: 150, name: 'Kem', rgb: [255, 126, 0] },
  { upTo: 200, name: 'Xau', rgb: [255, 0, 0] },
  { upTo: 300, name: 'Rat xau', rgb: [143, 63, 151] },
  { upTo: Infinity, name: 'Nguy hai', rgb: [126, 0, 35] },
];

/** Category and official colour of a (rounded) VN_AQI value. */
export function vnCategory(aqi: number): CategoryInfo {
  const i = CATEGORY_TABLE.findIndex((c) => aqi <= c.upTo);
  const row = CATEGORY_TABLE[i] ?? CATEGORY_TABLE[CATEGORY_TABLE.length - 1];
  const rgb = row?.rgb ?? [0, 0, 0];
  return { category: VN_AQI_CATEGORIES[i] ?? 'nguy_hai', index: i + 1, name: row?.name ?? '', rgb, color: `#${rgb.map((v) => v.toString(16).padStart(2, '0').toUpperCase()).join('')}` };
}

export function categoryIndex(c: VnAqiCategory): number {
  return VN_AQI_CATEGORIES.indexOf(c) + 1;
}

/**
 * NowCast over hourly means c[0] = c1 (the hour just ended) .. c[11] = c12; undefined marks a
 * missing hour, which weighs 0. Needs at least 2 of c1..c3. The normalised form (the decision
 * prints the w = 0.5 case without the divisor; the two differ by 1 - 2^-12 with no gap).
 */
export function nowCast(c: ReadonlyArray<number | undefined>): { value: number; w: number } | undefined {
  const hours = c.slice(0, 12);
  if (hours.slice(0, 3).filter((v) => v !== undefined).length < 2) return undefined;
  const present = hours.filter((v): v is number => v !== undefined);
  const cmax = Math.max(...present);
  const cmin = Math.min(...present);
  const w = cmax > 0 ? Math.max(cmin / cmax, 0.5) : 1;
  let num = 0;
  let den = 0;
  hours.forEach((v, i) => {
    if (v === undefined) return;
    const wi = w ** i;
    num += wi * v;
    den += wi;
  });
  return { value: num / den, w };
}

/** US EPA PM2.5 breakpoints (2024): concentration ranges (truncated to 0.1 ug/m3) and AQI ranges. */
const EPA_PM25: ReadonlyArray<readonly [number, number, number, number]> = [
  [0.0, 9.0, 0, 50],
  [9.1, 35.4, 51, 100],
  [35.5, 55.4, 101, 150],
  [55.5, 125.4, 151, 200],
  [125.5, 225.4, 201, 300],
  [225.5, 325.4, 301, 500],
];

/** US EPA AQI of a PM2.5 concentration (NowCast hourly, 24 h mean daily); 500 above the table. */
export function epaPm25Aqi(c: number): number | undefined {
  if (!(c >= 0)) return undefined;
  const t = Math.floor(Number((c * 10).toFixed(6))) / 10;
  for (const [lo, hi, ilo, ihi] of EPA_PM25) if (t <= hi) return roundHalfUp(((ihi - ilo) / (hi - lo)) * (Math.max(t, lo) - lo) + ilo);
  return 500;
}

/** Molar masses (g/mol) of the gases, for ppb -> ug/m3 at 25 C and 1 atm (molar volume 24.45 L). */
export const MOLAR_MASS: Readonly<Partial<Record<AqiPollutant, number>>> = { o3: 48.0, no2: 46.01, so2: 64.07, co: 28.01 };
export const MOLAR_VOLUME_L = 24.45;

/** A concentration in ug/m3 from a value in ug/m3, mg/m3, ppb or ppm; undefined for an unknown unit. */
export function toUgM3(pollutant: AqiPollutant, value: number, unit: string | undefined): number | undefined {
  switch (unit ?? 'ug/m3') {
    case 'ug/m3':
    case 'µg/m3':
    case 'μg/m3':
      return value;
    case 'mg/m3':
      return value * 1000;
    case 'ppb':
    case 'ppm': {
      const m = MOLAR_MASS[pollutant];
      if (m === undefined) return undefined;
      return ((unit === 'ppm' ? value * 1000 : value) * m) / MOLAR_VOLUME_L;
    }
    default:
      return undefined;
  }
}
