import { getTimes } from 'suncalc';
import { dayDate, zonedInstant } from './zoned-time.js';

export interface Site {
  lat: number;
  lon: number;
  tz: string;
}

export interface SunDay {
  sunrise: number | undefined;
  sunset: number | undefined;
  /** Polar night: the sun never rises this day. */
  alwaysDown: boolean;
}

/**
 * Sunrise and sunset (ms) of one local calendar day at a site, from suncalc. suncalc answers
 * for the solar day around the instant it is given, so it is asked at local noon: asked at
 * midnight UTC it can answer for the neighbouring day (07:00 local in Vietnam).
 */
export function sunDay(site: Site, day: number): SunDay {
  const d = dayDate(day);
  const noon = zonedInstant(site.tz, d.year, d.month, d.day, 12, 0);
  const t = getTimes(new Date(noon), site.lat, site.lon);
  return { sunrise: t.sunrise?.getTime(), sunset: t.sunset?.getTime(), alwaysDown: t.alwaysDown === true };
}
