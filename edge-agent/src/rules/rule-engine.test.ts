import { describe, expect, it } from 'vitest';
import { RuleHarness } from './testing/harness.js';

const T0 = Date.parse('2026-10-17T00:00:00+07:00');

describe('rule engine', () => {
  it('derives readings with safe expressions once per batch; a bad input makes the derived reading bad', () => {
    const h = RuleHarness.create({ derived: [{ dev: 'river-radar', pt: 'distance_mm', expr: 'distance * 1000', unit: 'mm' }, { dev: 'aqt', pt: 'pm_ratio', expr: 'pm10 > 0 ? pm2_5 / pm10 : 0' }] }, T0);
    h.engine.start();
    h.engine.onReadings([
      { dev: 'river-radar', pt: 'distance', ts: T0, v: 2.5, q: 'good', u: 'm' },
      { dev: 'aqt', pt: 'pm2_5', ts: T0, v: 30, q: 'good' },
      { dev: 'aqt', pt: 'pm10', ts: T0 + 1, v: 60, q: 'good' },
    ]);
    expect(h.readings).toEqual([
      { dev: 'river-radar', pt: 'distance_mm', ts: T0, v: 2500, q: 'good', u: 'mm' },
      { dev: 'aqt', pt: 'pm_ratio', ts: T0 + 1, v: 0.5, q: 'good' },
    ]);
    h.engine.onReadings([{ dev: 'river-radar', pt: 'distance', ts: T0 + 5000, v: null, q: 'bad', err: 'EDGE_MODBUS_TIMEOUT' }]);
    expect(h.readings.at(-1)).toEqual({ dev: 'river-radar', pt: 'distance_mm', ts: T0 + 5000, v: null, q: 'bad', err: 'EDGE_MODBUS_TIMEOUT', u: 'mm' });
    expect(h.engine.stats()).toMatchObject({ rules: 2, readingsIn: 4, readingsRouted: 4, readingsOut: 3, ruleErrors: 0 });
  });

  it('emits the derived readings of one batch as one batch, ignores readings before start, and cancels its timers at stop', () => {
    const h = RuleHarness.create({ aqi: [{ id: 'air', pollutants: { pm2_5: { dev: 'aqt', pt: 'pm2_5' } } }], derived: [{ dev: 'aqt', pt: 'pm_x2', expr: 'pm2_5 * 2' }] }, T0);
    h.engine.onReadings([{ dev: 'aqt', pt: 'pm2_5', ts: T0, v: 1, q: 'good' }]);
    expect(h.readings).toEqual([]);
    const batches: number[] = [];
    h.ctx.emit.readings = (r) => batches.push(r.length);
    h.engine.start();
    expect(h.time.timers).toBe(1);
    h.engine.onReadings([
      { dev: 'aqt', pt: 'pm2_5', ts: T0, v: 1, q: 'good' },
      { dev: 'aqt', pt: 'pm2_5', ts: T0 + 1, v: 2, q: 'good' },
    ]);
    expect(batches).toEqual([1]);
    h.engine.stop();
    expect(h.time.timers).toBe(0);
  });

  it('refuses to acknowledge what no rule raised', () => {
    const h = RuleHarness.create({}, T0);
    h.engine.start();
    expect(h.engine.acknowledge('flood.level/nowhere', 'tech')).toEqual({ ok: false, code: 'EDGE_CMD_UNKNOWN_TARGET', message: 'no raised alarm "flood.level/nowhere" owned by this gateway\'s rules' });
  });
});
