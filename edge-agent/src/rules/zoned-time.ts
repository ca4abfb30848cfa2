/**
 * Local time in an IANA zone with the platform's Intl (Node ships full ICU): the offset at an
 * instant, the instant of a local wall-clock time, local dates. Formatters are cached per zone.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localParts(tz: string, t: number): LocalParts {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year ?? 0, month: p.month ?? 0, day: p.day ?? 0, hour: p.hour ?? 0, minute: p.minute ?? 0, second: p.second ?? 0 };
}

/** Offset of local time from UTC at instant t, ms (e.g. +7 h for Asia/Ho_Chi_Minh). */
export function offsetMs(tz: string, t: number): number {
  const p = localParts(tz, t);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/** The instant a local wall-clock time happens (the earlier one in a DST fold, shifted past a gap). */
export function zonedInstant(tz: string, year: number, month: number, day: number, hour = 0, minute = 0): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  let t = guess - offsetMs(tz, guess);
  // One more step settles the rare case where the offset differs between guess and result.
  t = guess - offsetMs(tz, t);
  return t;
}

/** A local date as a plain day number (days since 1970-01-01 of that calendar date). */
export function localDayNumber(tz: string, t: number): number {
  const p = localParts(tz, t);
  return Math.floor(Date.UTC(p.year, p.month - 1, p.day) / 86_400_000);
}

/** Calendar date of a day number. */
export function dayDate(day: number): { year: number; month: number; day: number } {
  const d = new Date(day * 86_400_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function dayLabel(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Start of the local hour containing t. */
export function localHourStart(tz: string, t: number): number {
  const local = t + offsetMs(tz, t);
  return t - (((local % 3_600_000) + 3_600_000) % 3_600_000);
}
