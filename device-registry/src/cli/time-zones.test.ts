import { describe, expect, it } from 'vitest';
import { DEFAULT_TIME_ZONE, formatTime, isTimeZone, TimeZones } from './time-zones.js';

const at = (iso: string) => Date.parse(iso);

describe('formatTime', () => {
  it('shows the wall clock of the zone with its offset, default Asia/Ho_Chi_Minh', () => {
    expect(DEFAULT_TIME_ZONE).toBe('Asia/Ho_Chi_Minh');
    expect(formatTime(at('2025-06-02T10:00:00Z'))).toBe('2025-06-02 17:00:00 +07:00');
    // Past midnight there: the date changes too.
    expect(formatTime(at('2025-06-02T20:30:05Z'), 'Asia/Ho_Chi_Minh')).toBe('2025-06-03 03:30:05 +07:00');
    expect(formatTime(at('2025-06-02T10:00:00Z'), 'UTC')).toBe('2025-06-02 10:00:00 +00:00');
    expect(formatTime(at('2025-06-02T00:00:00.999Z'), 'UTC')).toBe('2025-06-02 00:00:00 +00:00');
  });

  it('follows daylight saving time and odd offsets', () => {
    expect(formatTime(at('2025-07-01T10:00:00Z'), 'Europe/Madrid')).toBe('2025-07-01 12:00:00 +02:00');
    expect(formatTime(at('2025-01-15T10:00:00Z'), 'Europe/Madrid')).toBe('2025-01-15 11:00:00 +01:00');
    expect(formatTime(at('2025-01-15T10:00:00Z'), 'Asia/Kathmandu')).toBe('2025-01-15 15:45:00 +05:45');
    expect(formatTime(at('2025-01-15T10:00:00Z'), 'America/St_Johns')).toBe('2025-01-15 06:30:00 -03:30');
  });

  it('shows a missing time as -', () => {
    expect(formatTime(null)).toBe('-');
    expect(formatTime(undefined, 'UTC')).toBe('-');
  });

  it('knows IANA zones', () => {
    expect(isTimeZone('Asia/Ho_Chi_Minh')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('TimeZones', () => {
  const sites = [{ id: 'hue', timeZone: 'Asia/Ho_Chi_Minh' }, { id: 'mad', timeZone: 'Europe/Madrid' }];
  const source = (calls: string[]) => ({
    listSites: async () => {
      calls.push('sites');
      return sites as never;
    },
    getGateway: async (id: string) => {
      calls.push(`gw:${id}`);
      if (id === 'gone') throw new Error('404');
      return { siteId: id === 'gw-mad' ? 'mad' : null } as never;
    },
  });

  it("gives a record its site's zone, else the fallback, reading sites once", async () => {
    const calls: string[] = [];
    const z = new TimeZones(source(calls), 'UTC');
    expect(await z.forSite('mad')).toBe('Europe/Madrid');
    expect(await z.forSite('hue')).toBe('Asia/Ho_Chi_Minh');
    expect(await z.forSite('unknown-site')).toBe('UTC');
    expect(await z.forSite(null)).toBe('UTC');
    expect(await z.forGateway('gw-mad')).toBe('Europe/Madrid');
    expect(await z.forGateway('gw-mad')).toBe('Europe/Madrid');
    expect(await z.forGateway('gw-nosite')).toBe('UTC');
    expect(await z.forGateway('gone')).toBe('UTC');
    expect(calls).toEqual(['sites', 'gw:gw-mad', 'gw:gw-nosite', 'gw:gone']);
    expect(new TimeZones(source([])).fallback).toBe('Asia/Ho_Chi_Minh');
  });
});
