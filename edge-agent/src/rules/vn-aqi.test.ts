import { describe, expect, it } from 'vitest';
import { dailyAqi, hourlyAqi } from './aqi-index.js';
import { epaPm25Aqi, nowCast, toUgM3, vnCategory, vnSubIndex } from './vn-aqi.js';

/** Vectors from docs/domain.md (Decision 1459/QD-TCMT and the US EPA 2024 PM2.5 table). */
describe('VN_AQI (Decision 1459/QD-TCMT)', () => {
  it("the decision's NowCast example: w 0.613383, NowCast 20.2658, sub-index 41", () => {
    const c = [20.6, 19.6, 22.4, 20.3, 16.5, 19.0, 16.5, 19.5, 23.5, 20.5, 24.7, 26.9];
    const n = nowCast(c);
    expect(n?.w).toBeCloseTo(0.613383, 6);
    expect(n?.value).toBeCloseTo(20.2658, 4);
    expect(vnSubIndex('pm2_5', n?.value ?? NaN)).toBe(41);
    expect(hourlyAqi({ pm2_5: c }).aqi).toBe(41);
  });

  it('steady PM2.5 40 for 12 h: NowCast 40, VN_AQI 80, US EPA 112', () => {
    const h = hourlyAqi({ pm2_5: Array(12).fill(40) });
    expect(h.nowCast.pm2_5).toBeCloseTo(40, 10);
    expect(h.aqi).toBe(80);
    expect(h.epa).toBe(112);
    expect(epaPm25Aqi(40)).toBe(112);
  });

  it('one missing hour weighs 0: w 0.566667, NowCast 55.8407, VN_AQI 110', () => {
    const c = [60, 55, undefined, 50, 48, 45, 42, 40, 38, 36, 35, 34];
    const n = nowCast(c);
    expect(n?.w).toBeCloseTo(0.566667, 6);
    expect(n?.value).toBeCloseTo(55.8407, 4);
    expect(hourlyAqi({ pm2_5: c }).aqi).toBe(110);
  });

  it('w floor with a gap: w 0.5, NowCast 68.7659, VN_AQI 131', () => {
    const c = [80, undefined, 60, 40, 30, 20, 20, 20, 20, 20, 20, 20];
    const n = nowCast(c);
    expect(n?.w).toBe(0.5);
    expect(n?.value).toBeCloseTo(68.7659, 4);
    expect(hourlyAqi({ pm2_5: c }).aqi).toBe(131);
  });

  it('too few recent hours: c1 and c2 missing gives no NowCast, and no station AQI without PM', () => {
    const c = [undefined, undefined, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30];
    expect(nowCast(c)).toBeUndefined();
    const h = hourlyAqi({ pm2_5: c, no2: [130.8] });
    expect(h.aqi).toBeUndefined();
    expect(h.subIndices.no2).toBe(65);
    // c1 missing but c2 and c3 present is enough.
    expect(nowCast([undefined, 30, 30])?.value).toBe(30);
  });

  it("the decision's daily example: sub-indices 45, 36, 65, 110; daily AQI 110 (109.5 rounds half up)", () => {
    const d = dailyAqi({ o3_8h: 89.3, o3_1h: 114.6, no2: 130.8, pm2_5: 55.7 });
    expect(d.subIndices.o3_8h).toBe(45);
    expect(d.subIndices.o3_1h).toBe(36);
    expect(d.subIndices.o3).toBe(45);
    expect(d.subIndices.no2).toBe(65);
    expect(d.subIndices.pm2_5).toBe(110);
    expect(d.aqi).toBe(110);
  });

  it('skips the 8 h O3 sub-index above 400 ug/m3 and caps indices at the top of the table', () => {
    expect(vnSubIndex('o3_8h', 401)).toBeUndefined();
    expect(dailyAqi({ pm2_5: 10, o3_8h: 450, o3_1h: 900 }).subIndices.o3).toBe(350);
    expect(vnSubIndex('pm2_5', 900)).toBe(500);
  });

  it.each([
    [0, 'tot', '#00E400'],
    [50, 'tot', '#00E400'],
    [51, 'trung_binh', '#FFFF00'],
    [101, 'kem', '#FF7E00'],
    [151, 'xau', '#FF0000'],
    [201, 'rat_xau', '#8F3F97'],
    [301, 'nguy_hai', '#7E0023'],
  ])('AQI %d is category %s, colour %s', (aqi, category, color) => {
    expect(vnCategory(aqi)).toMatchObject({ category, color });
  });

  it('US EPA 2024 PM2.5 bands, the concentration truncated to 0.1', () => {
    expect(epaPm25Aqi(9.0)).toBe(50);
    expect(epaPm25Aqi(9.19)).toBe(51);
    expect(epaPm25Aqi(35.49)).toBe(100);
    expect(epaPm25Aqi(55.5)).toBe(151);
    expect(epaPm25Aqi(325.4)).toBe(500);
    expect(epaPm25Aqi(400)).toBe(500);
  });

  it('converts the AQT530 ppb to ug/m3 at 25 C, 1 atm (molar volume 24.45 L)', () => {
    expect(toUgM3('no2', 100, 'ppb')).toBeCloseTo((100 * 46.01) / 24.45, 9); // 188.18
    expect(toUgM3('o3', 50, 'ppb')).toBeCloseTo(98.16, 2);
    expect(toUgM3('so2', 1, 'ppm')).toBeCloseTo(2620.4, 1);
    expect(toUgM3('co', 1000, 'ppb')).toBeCloseTo(1145.6, 1);
    expect(toUgM3('co', 1.2, 'mg/m3')).toBeCloseTo(1200, 9);
    expect(toUgM3('pm2_5', 12, 'ppb')).toBeUndefined();
    expect(toUgM3('pm2_5', 12, undefined)).toBe(12);
  });
});
