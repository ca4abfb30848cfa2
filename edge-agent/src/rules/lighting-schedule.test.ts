import { describe, expect, it } from 'vitest';
import { LightingSchedule, nightPlan } from './lighting-schedule.js';
import { sunDay } from './sun-clock.js';
import { localDayNumber } from './zoned-time.js';

const TZ = 'Asia/Ho_Chi_Minh';
const MIN = 60_000;

/**
 * The NOAA sunrise/sunset formula of docs/domain.md, iterated at the event time (gamma from the
 * event's own hour), as the independent reference the sun clock is checked against.
 */
function noaa(lat: number, lon: number, dateUtc: { y: number; m: number; d: number }, event: 'sunrise' | 'sunset'): number {
  const rad = Math.PI / 180;
  const doy = (Date.UTC(dateUtc.y, dateUtc.m - 1, dateUtc.d) - Date.UTC(dateUtc.y, 0, 0)) / 86_400_000;
  const daysInYear = (dateUtc.y % 4 === 0 && dateUtc.y % 100 !== 0) || dateUtc.y % 400 === 0 ? 366 : 365;
  let minutes = 720;
  for (let i = 0; i < 5; i++) {
    const g = ((2 * Math.PI) / daysInYear) * (doy - 1 + (minutes / 60 - 12) / 24);
    const eqtime = 229.18 * (0.000075 + 0.001868 * Math.cos(g) - 0.032077 * Math.sin(g) - 0.014615 * Math.cos(2 * g) - 0.040849 * Math.sin(2 * g));
    const decl = 0.006918 - 0.399912 * Math.cos(g) + 0.070257 * Math.sin(g) - 0.006758 * Math.cos(2 * g) + 0.000907 * Math.sin(2 * g) - 0.002697 * Math.cos(3 * g) + 0.00148 * Math.sin(3 * g);
    const ha = Math.acos(Math.cos(90.833 * rad) / (Math.cos(lat * rad) * Math.cos(decl)) - Math.tan(lat * rad) * Math.tan(decl)) / rad;
    minutes = event === 'sunrise' ? 720 - 4 * (lon + ha) - eqtime : 720 - 4 * (lon - ha) - eqtime;
  }
  return Date.UTC(dateUtc.y, dateUtc.m - 1, dateUtc.d) + minutes * MIN;
}

const local = (t: number) => new Date(t + 7 * 3_600_000).toISOString().slice(11, 19);

describe('astronomical clock', () => {
  // docs/domain.md: UTC+7, the published minutes (+-2 min) and the NOAA formula iterated at the event.
  it.each([
    ['Dong Ha', 16.8163, 107.1003, '2026-06-21', '05:19', '18:27'],
    ['Dong Ha', 16.8163, 107.1003, '2026-12-21', '06:16', '17:23'],
    ['Hoa Thanh', 11.29, 106.13, '2026-06-21', '05:33', '18:20'],
    ['Hoa Thanh', 11.29, 106.13, '2026-12-21', '06:09', '17:37'],
  ])('%s %s: sunrise and sunset within 1 minute of NOAA', (_name, lat, lon, date, rise, set) => {
    const [y, m, d] = date.split('-').map(Number) as [number, number, number];
    const day = localDayNumber(TZ, Date.parse(`${date}T12:00:00+07:00`));
    const sun = sunDay({ lat, lon, tz: TZ }, day);
    // East of Greenwich the sunrise minutes come out negative: the instant falls on the previous UTC day, as it should.
    const sunriseNoaa = noaa(lat, lon, { y, m, d }, 'sunrise');
    const sunsetNoaa = noaa(lat, lon, { y, m, d }, 'sunset');
    expect(Math.abs((sun.sunrise ?? 0) - sunriseNoaa)).toBeLessThan(MIN);
    expect(Math.abs((sun.sunset ?? 0) - sunsetNoaa)).toBeLessThan(MIN);
    const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
    expect(Math.abs(minutes(local(sun.sunrise ?? 0)) - minutes(rise))).toBeLessThanOrEqual(2);
    expect(Math.abs(minutes(local(sun.sunset ?? 0)) - minutes(set))).toBeLessThanOrEqual(2);
  });

  it.each([
    ['2026-06-21', '05:19:21', '18:27:22'],
    ['2026-12-21', '06:15:42', '17:23:21'],
  ])('Dong Ha %s matches the measured NOAA times to the second: %s / %s', (date, rise, set) => {
    const sun = sunDay({ lat: 16.8163, lon: 107.1003, tz: TZ }, localDayNumber(TZ, Date.parse(`${date}T12:00:00+07:00`)));
    expect(Math.abs((sun.sunrise ?? 0) - Date.parse(`${date}T${rise}+07:00`))).toBeLessThan(2000);
    expect(Math.abs((sun.sunset ?? 0) - Date.parse(`${date}T${set}+07:00`))).toBeLessThan(2000);
  });
});

describe('lighting schedule (UTC+7)', () => {
  const plan = {
    site: { lat: 16.8163, lon: 107.1003, tz: TZ },
    onOffsetMin: 10,
    offOffsetMin: 15,
    onLevel: 100,
    steps: [
      { at: '22:00', level: 75 },
      { at: '00:00', level: 40 },
      { at: '04:30', level: 100 },
      { at: '12:00', level: 5 }, // daytime: never inside a night, ignored
    ],
  };

  it('one night: on at sunset + 10 min, 75 % at 22:00, 40 % at midnight (the next calendar day), 100 % at 04:30, off at sunrise - 15 min', () => {
    const day = localDayNumber(TZ, Date.parse('2026-12-21T12:00:00+07:00'));
    const n = nightPlan(plan, day);
    expect(n).toBeDefined();
    expect(local(n?.on ?? 0).slice(0, 5)).toBe('17:33');
    expect(local(n?.off ?? 0).slice(0, 5)).toBe('06:01');
    expect(n?.changes.map((c) => [new Date(c.at).toISOString(), c.level])).toEqual([
      [new Date(n?.on ?? 0).toISOString(), 100],
      ['2026-12-21T15:00:00.000Z', 75],
      ['2026-12-21T17:00:00.000Z', 40],
      ['2026-12-21T21:30:00.000Z', 100],
    ]);
  });

  it('answers the level and the next change at any instant, across midnight local time (17:00 UTC)', () => {
    const s = new LightingSchedule(plan);
    const at = (iso: string) => s.at(Date.parse(iso));
    expect(at('2026-12-21T16:00:00+07:00')).toEqual({ level: 0, nextChange: nightPlan(plan, localDayNumber(TZ, Date.parse('2026-12-21T12:00:00+07:00')))?.on });
    expect(at('2026-12-21T21:59:59+07:00')).toMatchObject({ level: 100, nextChange: Date.parse('2026-12-21T22:00:00+07:00') });
    expect(at('2026-12-21T23:59:59+07:00')).toMatchObject({ level: 75, nextChange: Date.parse('2026-12-22T00:00:00+07:00') });
    expect(at('2026-12-22T00:00:00+07:00')).toMatchObject({ level: 40, nextChange: Date.parse('2026-12-22T04:30:00+07:00') });
    expect(at('2026-12-22T05:00:00+07:00').level).toBe(100);
    expect(at('2026-12-22T12:00:00+07:00').level).toBe(0);
  });

  it('a step before switch-on is dropped for that night (summer: 18:00 step, sunset 18:27)', () => {
    const n = nightPlan({ ...plan, onOffsetMin: 0, steps: [{ at: '18:00', level: 50 }] }, localDayNumber(TZ, Date.parse('2026-06-21T12:00:00+07:00')));
    expect(n?.changes).toHaveLength(1);
  });
});
