import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from './testing/fake-time.js';
import { RuleHarness } from './testing/harness.js';
import { SqliteRuleStateStore } from './sqlite-state-store.js';
import { RulesConfig, type RulesConfigInput } from '@cityedge/contract';

const HOUR = 3_600_000;
/** 2026-03-10 00:00 in Asia/Ho_Chi_Minh (UTC+7). */
const DAY0 = Date.parse('2026-03-10T00:00:00+07:00');

const config = (extra: Record<string, unknown> = {}): RulesConfigInput => ({
  aqi: [
    {
      id: 'dongha-air',
      name: 'Dong Ha air',
      pollutants: { pm2_5: { dev: 'aqt', pt: 'pm2_5' }, no2: { dev: 'aqt', pt: 'no2' }, o3: { dev: 'aqt', pt: 'o3' } },
      epa: true,
      alarmAt: 'kem',
      ...extra,
    },
  ],
});

/** Feeds one reading a minute for `minutes` minutes of the hour starting at hourStart, then moves to the hour's end + grace. */
function feedHour(h: RuleHarness, hourStart: number, values: { pm2_5?: number; no2ppb?: number; o3?: number; no2?: number }, minutes = 60): void {
  for (let m = 0; m < minutes; m++) {
    const ts = hourStart + m * 60_000 + 5_000;
    h.time.advanceTo(ts);
    if (values.pm2_5 !== undefined) h.feed('aqt', 'pm2_5', values.pm2_5, { u: 'ug/m3' });
    if (values.no2ppb !== undefined) h.feed('aqt', 'no2', values.no2ppb, { u: 'ppb' });
    if (values.no2 !== undefined) h.feed('aqt', 'no2', values.no2, { u: 'ug/m3' });
    if (values.o3 !== undefined) h.feed('aqt', 'o3', values.o3, { u: 'ug/m3' });
  }
  h.time.advanceTo(hourStart + HOUR + 30_000);
}

const published = (h: RuleHarness, pt: string, ts: number) => h.readings.find((r) => r.dev === 'dongha-air' && r.pt === pt && r.ts === ts);

/** The "one missing hour" vector oldest first: c12..c1 = 34, 35, 36, 38, 40, 42, 45, 48, 50, -, 55, 60. */
const ONE_MISSING = [34, 35, 36, 38, 40, 42, 45, 48, 50, undefined, 55, 60];

describe('AQI station', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('publishes the hourly VN_AQI at each hour end: an hour with too few 5-minute slots is missing and weighs 0 (VN_AQI 110)', () => {
    const h = RuleHarness.create(config(), DAY0);
    h.engine.start();
    ONE_MISSING.forEach((v, i) => {
      // The "missing" hour has readings for 40 minutes only: 8 of 12 slots, under the 9 required.
      feedHour(h, DAY0 + i * HOUR, { pm2_5: v ?? 70, no2ppb: 69.5 }, v === undefined ? 40 : 60);
    });
    const end = DAY0 + 12 * HOUR;
    expect(published(h, 'nowcast_pm2_5', end)?.v).toBe(55.8);
    expect(published(h, 'vn_aqi_pm2_5', end)?.v).toBe(110);
    // 69.5 ppb NO2 = 130.79 ug/m3 at 25 C: sub-index 65.
    expect(published(h, 'no2_1h', end)?.v).toBe(130.8);
    expect(published(h, 'vn_aqi_no2', end)?.v).toBe(65);
    expect(published(h, 'vn_aqi', end)).toMatchObject({ v: 110, q: 'good' });
    expect(published(h, 'vn_aqi_category', end)?.v).toBe('kem');
    expect(published(h, 'vn_aqi_color', end)?.v).toBe('#FF7E00');
    expect(published(h, 'epa_aqi', end)?.v).toBeGreaterThan(150);
    // The first hour has only c1: no NowCast, so no AQI, said as a bad reading.
    expect(published(h, 'vn_aqi', DAY0 + HOUR)).toMatchObject({ v: null, q: 'bad', err: 'EDGE_RULE_AQI_COVERAGE' });
  });

  it('raises aqi.category at the configured category with the category as level, moves it up, and clears it below', () => {
    const h = RuleHarness.create(config(), DAY0);
    h.engine.start();
    ONE_MISSING.forEach((v, i) => feedHour(h, DAY0 + i * HOUR, { pm2_5: v ?? 70 }, v === undefined ? 40 : 60));
    for (let i = 12; i < 15; i++) feedHour(h, DAY0 + i * HOUR, { pm2_5: 160 });
    for (let i = 15; i < 30; i++) feedHour(h, DAY0 + i * HOUR, { pm2_5: 8 });
    const hourly = h.readings.filter((r) => r.pt === 'vn_aqi' && r.q === 'good').map((r) => ({ ts: r.ts, v: r.v as number }));
    const firstKem = hourly.find((r) => r.v >= 101);
    const firstXau = hourly.find((r) => r.v >= 151);
    const backToKem = hourly.find((r) => r.ts > (firstXau?.ts ?? 0) && r.v <= 150);
    const firstBelow = hourly.find((r) => r.ts > (firstXau?.ts ?? 0) && r.v <= 100);
    expect(backToKem?.v).toBeGreaterThan(100);
    expect(h.alarms('aqi.category/')).toEqual([
      { key: 'aqi.category/dongha-air', state: 'raised', level: 'kem', ts: firstKem?.ts },
      { key: 'aqi.category/dongha-air', state: 'raised', level: 'xau', ts: firstXau?.ts },
      { key: 'aqi.category/dongha-air', state: 'raised', level: 'kem', ts: backToKem?.ts },
      { key: 'aqi.category/dongha-air', state: 'cleared', level: 'kem', ts: firstBelow?.ts },
    ]);
  });

  it('a sensor silent for c1 and c2 gives no NowCast: the hour is published as bad, the alarm is held', () => {
    const h = RuleHarness.create(config(), DAY0);
    h.engine.start();
    for (let i = 0; i < 12; i++) feedHour(h, DAY0 + i * HOUR, { pm2_5: 120 });
    expect(h.alarms()).toHaveLength(1);
    h.time.advanceTo(DAY0 + 14 * HOUR + 30_000);
    expect(published(h, 'vn_aqi', DAY0 + 13 * HOUR)?.q).toBe('good'); // c1 missing, c2 and c3 present
    expect(published(h, 'vn_aqi', DAY0 + 14 * HOUR)).toMatchObject({ q: 'bad', err: 'EDGE_RULE_AQI_COVERAGE' });
    expect(h.alarms()).toHaveLength(1);
  });

  it("computes the daily AQI of the local day (hours 01:00..24:00) by the decision's rules: the daily example gives 110", () => {
    const h = RuleHarness.create(config(), DAY0);
    h.engine.start();
    for (let i = 0; i < 24; i++) feedHour(h, DAY0 + i * HOUR, { pm2_5: 55.7, no2: 130.8, o3: i === 14 ? 114.6 : 85.7 });
    const end = DAY0 + 24 * HOUR;
    expect(published(h, 'vn_aqi_daily', end)).toMatchObject({ v: 110, q: 'good' });
    expect(published(h, 'vn_aqi_daily_category', end)?.v).toBe('kem');
    expect(published(h, 'epa_aqi_daily', end)?.v).toBe(151);
    // Sub-indices behind it: O3 8 h (7 x 85.7 + 114.6) / 8 = 89.31 -> 45, O3 1 h 114.6 -> 36, NO2 65, PM2.5 110.
    expect(published(h, 'vn_aqi_daily', DAY0 + 23 * HOUR)).toBeUndefined();
  });

  it('drops readings that arrive after their hour was published', () => {
    const h = RuleHarness.create(config(), DAY0);
    h.engine.start();
    for (let i = 0; i < 3; i++) feedHour(h, DAY0 + i * HOUR, { pm2_5: 40 });
    // A batch of old readings (a device's clock, a replay) for the published third hour: ignored.
    for (let m = 0; m < 60; m++) h.feed('aqt', 'pm2_5', 400, { ts: DAY0 + 2 * HOUR + m * 60_000, u: 'ug/m3' });
    feedHour(h, DAY0 + 3 * HOUR, { pm2_5: 40 });
    expect(published(h, 'nowcast_pm2_5', DAY0 + 4 * HOUR)?.v).toBe(40);
  });

  it('a day with fewer than 18 hourly means has no daily AQI', () => {
    const h = RuleHarness.create(config(), DAY0);
    h.engine.start();
    for (let i = 0; i < 17; i++) feedHour(h, DAY0 + i * HOUR, { pm2_5: 30 });
    h.time.advanceTo(DAY0 + 24 * HOUR + 30_000);
    expect(published(h, 'vn_aqi_daily', DAY0 + 24 * HOUR)).toMatchObject({ q: 'bad', err: 'EDGE_RULE_AQI_COVERAGE' });
  });

  it('keeps hourly means and the alarm across a restart (rules.db reopened)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-aqi-'));
    dirs.push(dir);
    const path = join(dir, 'rules.db');
    const time = new FakeTime(DAY0);
    const cfg = RulesConfig.parse(config());
    let store = new SqliteRuleStateStore(path, time.clock.now);
    let h = new RuleHarness(cfg, time, store);
    h.engine.start();
    ONE_MISSING.slice(0, 6).forEach((v, i) => feedHour(h, DAY0 + i * HOUR, { pm2_5: v ?? 70 }));
    // Half of hour 7 before the agent stops; the slots seen so far are kept too.
    feedHour(h, DAY0 + 6 * HOUR, { pm2_5: 45 }, 0);
    for (let m = 0; m < 30; m++) {
      time.advanceTo(DAY0 + 6 * HOUR + m * 60_000 + 5_000);
      h.feed('aqt', 'pm2_5', 45, { u: 'ug/m3' });
    }
    h.engine.stop();
    store.close();

    store = new SqliteRuleStateStore(path, time.clock.now);
    h = new RuleHarness(cfg, time, store);
    h.engine.start();
    for (let m = 30; m < 60; m++) {
      time.advanceTo(DAY0 + 6 * HOUR + m * 60_000 + 5_000);
      h.feed('aqt', 'pm2_5', 45, { u: 'ug/m3' });
    }
    time.advanceTo(DAY0 + 7 * HOUR + 30_000);
    ONE_MISSING.slice(7).forEach((v, i) => feedHour(h, DAY0 + (7 + i) * HOUR, { pm2_5: v ?? 70 }, v === undefined ? 40 : 60));
    expect(published(h, 'vn_aqi', DAY0 + 12 * HOUR)?.v).toBe(110);
    expect(h.alarms()).toEqual([expect.objectContaining({ state: 'raised', level: 'kem' })]);
    store.close();
  });
});
