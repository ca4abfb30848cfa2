import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RulesConfig, type FloodStationRuleInput, type RulesConfigInput } from '@cityedge/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRuleStateStore } from './sqlite-state-store.js';
import { FakeTime } from './testing/fake-time.js';
import { RuleHarness } from './testing/harness.js';

const T0 = Date.parse('2026-10-17T00:00:00+07:00');
const SENSOR_HEIGHT = 8;

/** Dong Ha on the Hieu river: BD I/II/III at 2.00 / 3.00 / 4.00 m (domain.md), a radar 8 m above the datum's zero. */
function dongha(extra: Partial<FloodStationRuleInput> = {}): RulesConfigInput {
  return {
    flood: [
      {
        id: 'dongha',
        name: 'Dong Ha (Hieu)',
        sensor: { dev: 'river-radar', pt: 'distance' },
        kind: 'radar',
        datum: 0,
        sensorHeight: SENSOR_HEIGHT,
        levels: { bd1: 2.0, bd2: 3.0, bd3: 4.0, ref: 'QD 05/2020/QD-TTg' },
        hysteresis: 0.05,
        onDelayMs: 60_000,
        offDelayMs: 300_000,
        outputs: {
          bd1: [{ dev: 'beacon', pt: 'relay2', pattern: 'pulse:1000/1000' }],
          bd2: [
            { dev: 'siren', pt: 'relay1', pattern: 'pulse:500/1500' },
            { dev: 'beacon', pt: 'relay2', pattern: 'steady' },
          ],
          bd3: [
            { dev: 'siren', pt: 'relay1', pattern: 'steady' },
            { dev: 'beacon', pt: 'relay2', pattern: 'steady' },
          ],
        },
        ...extra,
      },
    ],
  };
}

/** Feeds the stage as the radar's distance every stepMs from now for durationMs. */
async function hold(h: RuleHarness, stage: number, durationMs: number, stepMs = 10_000): Promise<void> {
  const end = h.time.now() + durationMs;
  for (let t = h.time.now(); t < end; t += stepMs) {
    await h.time.advanceToAsync(t);
    h.feed('river-radar', 'distance', SENSOR_HEIGHT - stage);
    await h.settle();
  }
  await h.time.advanceToAsync(end);
}

const levels = (h: RuleHarness) => h.alarms('flood.level/').map((a) => `${a.state}:${a.level}`);

describe('flood station', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('Dong Ha vectors: 2.00 / 3.00 / 4.00 m raise BD I / II / III after the on-delay; falls lower after the off-delay and below the hysteresis', async () => {
    const h = RuleHarness.create(dongha(), T0);
    h.engine.start();
    await hold(h, 1.99, 600_000);
    expect(levels(h)).toEqual([]);
    const at2 = h.time.now();
    await hold(h, 2.0, 120_000);
    expect(h.alarms('flood.level/')).toEqual([{ key: 'flood.level/dongha', state: 'raised', level: 'BD_I', ts: at2 + 60_000 }]);
    await hold(h, 3.0, 120_000);
    await hold(h, 4.0, 120_000);
    expect(levels(h)).toEqual(['raised:BD_I', 'raised:BD_II', 'raised:BD_III']);
    // 3.96 m is within the 0.05 m hysteresis of BD III: held however long.
    await hold(h, 3.96, 3_600_000);
    expect(levels(h)).toHaveLength(3);
    const at394 = h.time.now();
    await hold(h, 3.94, 600_000);
    expect(h.alarms('flood.level/').at(-1)).toEqual({ key: 'flood.level/dongha', state: 'raised', level: 'BD_II', ts: at394 + 300_000 });
    await hold(h, 0.8, 600_000);
    expect(levels(h)).toEqual(['raised:BD_I', 'raised:BD_II', 'raised:BD_III', 'raised:BD_II', 'cleared:BD_II']);
    expect(h.latest('dongha', 'stage')).toMatchObject({ v: 0.8, q: 'good', u: 'm' });
    expect(h.latest('dongha', 'alarm_level')?.v).toBe(0);
    const raisedIII = h.events.find((e) => e.alarm?.level === 'BD_III');
    expect(raisedIII).toMatchObject({ type: 'flood.level', severity: 'critical', data: { stage: 4, thresholds: { bd1: 2, bd2: 3, bd3: 4 }, ref: 'QD 05/2020/QD-TTg' } });
  });

  it('a stage hovering at a threshold does not flap: on-delay and hysteresis hold it; without them it would', async () => {
    const hover = async (h: RuleHarness) => {
      for (let i = 0; i < 120; i++) await hold(h, i % 2 ? 1.98 : 2.02, 30_000, 30_000);
    };
    const steady = RuleHarness.create(dongha({ onDelayMs: 0 }), T0);
    steady.engine.start();
    await hover(steady);
    expect(levels(steady)).toEqual(['raised:BD_I']);
    const delayed = RuleHarness.create(dongha(), T0);
    delayed.engine.start();
    await hover(delayed);
    expect(levels(delayed)).toEqual([]);
    const naive = RuleHarness.create(dongha({ onDelayMs: 0, offDelayMs: 0, hysteresis: 0 }), T0);
    naive.engine.start();
    await hover(naive);
    expect(levels(naive).length).toBeGreaterThan(100);
  });

  it('stage from a pressure (level) sensor is the value plus the datum', async () => {
    const h = RuleHarness.create(dongha({ kind: 'level', sensorHeight: undefined, datum: 0.3, sensor: { dev: 'river-radar', pt: 'level' } }), T0);
    h.engine.start();
    h.feed('river-radar', 'level', 2.5);
    expect(h.latest('dongha', 'stage')?.v).toBe(2.8);
  });

  it('replays the river simulator hydrograph: BD I, II, III and back, once each, sirens with the pattern of each level, and the rate-of-rise alarm', async () => {
    const fixture = JSON.parse(readFileSync(new URL('./testing/fixtures/hydrograph-dongha.json', import.meta.url), 'utf8')) as { start: string; stepMs: number; stages: number[] };
    const start = Date.parse(fixture.start);
    const h = RuleHarness.create(dongha({ rateOfRise: { riseM: 1.0, windowMs: 3_600_000, armAboveM: 2.5 }, outputs: { ...dongha().flood?.[0]?.outputs, rise: [{ dev: 'siren', pt: 'relay3', pattern: 'pulse:500/500x3/10000' }] } }), start);
    h.engine.start();
    for (const [i, stage] of fixture.stages.entries()) {
      await h.time.advanceToAsync(start + i * fixture.stepMs);
      h.feed('river-radar', 'distance', SENSOR_HEIGHT - stage);
    }
    await h.settle();
    expect(levels(h)).toEqual(['raised:BD_I', 'raised:BD_II', 'raised:BD_III', 'raised:BD_II', 'raised:BD_I', 'cleared:BD_I']);
    // Each raise happens at the first sample one on-delay (60 s) after the stage first reached the level.
    const firstAt = (m: number) => start + fixture.stages.findIndex((s) => s >= m) * fixture.stepMs;
    const raised = h.alarms('flood.level/').slice(0, 3);
    [2, 3, 4].forEach((m, i) => expect(raised[i]?.ts).toBe(firstAt(m) + 60_000));

    // BD II: the siren pulses 500 ms on, 1500 ms off, from the moment BD II is raised until BD III.
    const bd2 = raised[1]?.ts ?? 0;
    const siren = h.writes.filter((w) => w.dev === 'siren' && w.pt === 'relay1' && w.at >= bd2 && w.at < (raised[2]?.ts ?? 0));
    expect(siren.slice(0, 5).map((w) => [w.at - bd2, w.value])).toEqual([
      [0, true],
      [500, false],
      [2000, true],
      [2500, false],
      [4000, true],
    ]);
    // BD III: steady on, nothing written until it falls to BD II; the last write of every output after the flood is "off".
    const fellToII = h.alarms('flood.level/')[3]?.ts ?? 0;
    const duringIII = h.writes.filter((w) => w.dev === 'siren' && w.pt === 'relay1' && w.at >= (raised[2]?.ts ?? 0) && w.at < fellToII);
    expect(duringIII.at(-1)).toMatchObject({ at: raised[2]?.ts, value: true });
    expect(duringIII.every((w) => w.at === raised[2]?.ts)).toBe(true);
    for (const key of ['siren/relay1', 'beacon/relay2', 'siren/relay3']) expect(h.points.get(key)).toBe(false);

    // Rate of rise: 1 m in an hour above 2.5 m, raised while rising (before the crest) and cleared after the hold-off.
    const rise = h.alarms('flood.rise/');
    expect(rise.map((a) => a.state)).toEqual(['raised', 'cleared']);
    const crest = start + fixture.stages.indexOf(Math.max(...fixture.stages)) * fixture.stepMs;
    const at = (ts: number) => fixture.stages[(ts - start) / fixture.stepMs] ?? NaN;
    expect(rise[0]?.ts).toBeLessThan(crest);
    expect(at(rise[0]?.ts ?? 0) - at((rise[0]?.ts ?? 0) - 3_600_000)).toBeGreaterThanOrEqual(1.0);
    expect(at(rise[0]?.ts ?? 0)).toBeGreaterThanOrEqual(2.5);
    expect((rise[1]?.ts ?? 0) - (rise[0]?.ts ?? 0)).toBeGreaterThanOrEqual(1_800_000);
    const burst = h.writes.filter((w) => w.pt === 'relay3' && w.at >= (rise[0]?.ts ?? 0) && w.at < (rise[0]?.ts ?? 0) + 10_000);
    expect(burst.map((w) => [w.at - (rise[0]?.ts ?? 0), w.value])).toEqual([
      [0, true],
      [500, false],
      [1000, true],
      [1500, false],
      [2000, true],
      [2500, false],
    ]);
  });

  it('acknowledgement silences without clearing; rising to a higher level re-arms; falling does not', async () => {
    const h = RuleHarness.create(dongha(), T0);
    h.engine.start();
    await hold(h, 3.2, 120_000);
    await h.settle();
    expect(h.engine.acknowledge('flood.level/dongha', 'tech.lan')).toEqual({ ok: true, result: { key: 'flood.level/dongha', level: 'BD_II', silenced: 2 } });
    await h.settle();
    expect(h.points.get('siren/relay1')).toBe(false);
    expect(h.points.get('beacon/relay2')).toBe(false);
    const after = h.writes.length;
    await hold(h, 3.2, 600_000);
    await h.settle();
    expect(h.writes.length).toBe(after);
    expect(levels(h)).toEqual(['raised:BD_II']);
    expect(h.events.find((e) => e.type === 'alarm.acknowledged')).toMatchObject({ data: { key: 'flood.level/dongha', actor: 'tech.lan', level: 'BD_II', silenced: 2 } });
    await hold(h, 4.1, 120_000);
    await h.settle();
    expect(h.points.get('siren/relay1')).toBe(true);
    expect(h.engine.acknowledge('flood.level/dongha', 'tech.lan').ok).toBe(true);
    await h.settle();
    await hold(h, 3.5, 600_000);
    await h.settle();
    expect(h.points.get('siren/relay1')).toBe(false);
    expect(h.alarms('flood.level/').at(-1)).toMatchObject({ state: 'raised', level: 'BD_II' });
    expect(h.engine.acknowledge('flood.rise/dongha', 'tech.lan')).toMatchObject({ ok: false, code: 'EDGE_CMD_UNKNOWN_TARGET' });
    expect(h.engine.acknowledge('flood.level/elsewhere', 'tech.lan')).toMatchObject({ ok: false, code: 'EDGE_CMD_UNKNOWN_TARGET' });
  });

  it('a failing sensor raises sensor.fault and holds the flood level; only good data lowers it', async () => {
    const h = RuleHarness.create(dongha(), T0);
    h.engine.start();
    await hold(h, 3.2, 120_000);
    for (let i = 0; i < 3; i++) {
      await h.time.advanceToAsync(h.time.now() + 10_000);
      h.feed('river-radar', 'distance', null, { err: 'EDGE_MODBUS_TIMEOUT' });
    }
    expect(h.alarms('sensor.fault/')).toEqual([{ key: 'sensor.fault/river-radar', state: 'raised', level: 'bad_quality', ts: h.time.now() }]);
    expect(h.latest('dongha', 'stage')).toMatchObject({ q: 'bad', err: 'EDGE_MODBUS_TIMEOUT' });
    // An hour of bad data: the flood alarm stays where it was.
    for (let i = 0; i < 360; i++) {
      await h.time.advanceToAsync(h.time.now() + 10_000);
      h.feed('river-radar', 'distance', null);
    }
    expect(levels(h)).toEqual(['raised:BD_II']);
    expect(h.latest('dongha', 'alarm_level')?.v).toBe(2);
    await hold(h, 0.9, 600_000);
    expect(h.alarms('sensor.fault/').map((a) => a.state)).toEqual(['raised', 'cleared']);
    expect(levels(h)).toEqual(['raised:BD_II', 'cleared:BD_II']);
  });

  it('a frozen value, silence and device.offline are sensor faults too; none clears the level', async () => {
    const h = RuleHarness.create(dongha({ fault: { frozenForMs: 1_800_000, staleAfterMs: 120_000 } }), T0);
    h.engine.start();
    await hold(h, 2.5, 120_000);
    await hold(h, 2.5, 1_800_000);
    expect(h.alarms('sensor.fault/').map((a) => a.level)).toEqual(['frozen']);
    await hold(h, 2.6, 60_000);
    await h.time.advanceToAsync(h.time.now() + 130_000);
    h.engine.onEvent({ type: 'device.offline', ts: h.time.now(), severity: 'warning', dev: 'river-radar', message: 'offline' });
    expect(h.alarms('sensor.fault/').map((a) => `${a.state}:${a.level}`)).toEqual(['raised:frozen', 'cleared:frozen', 'raised:no_data', 'raised:offline']);
    expect(levels(h)).toEqual(['raised:BD_I']);
  });

  it('keeps the alarm, the latched siren and the acknowledgement across a restart (rules.db reopened)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-flood-'));
    dirs.push(dir);
    const path = join(dir, 'rules.db');
    const time = new FakeTime(T0);
    const cfg = RulesConfig.parse(dongha());
    let store = new SqliteRuleStateStore(path, time.clock.now);
    let h = new RuleHarness(cfg, time, store);
    h.engine.start();
    await hold(h, 4.2, 120_000);
    await h.settle();
    h.engine.stop();
    store.close();

    store = new SqliteRuleStateStore(path, time.clock.now);
    h = new RuleHarness(cfg, time, store);
    h.engine.start();
    await h.settle();
    // The siren sounds again at start, and no new raise is reported for an alarm already raised.
    expect(h.writes.filter((w) => w.pt === 'relay1').map((w) => w.value)).toEqual([true]);
    expect(h.alarms()).toEqual([]);
    expect(h.engine.acknowledge('flood.level/dongha', 'tech.lan').ok).toBe(true);
    h.engine.stop();
    store.close();

    store = new SqliteRuleStateStore(path, time.clock.now);
    h = new RuleHarness(cfg, time, store);
    h.engine.start();
    await hold(h, 4.2, 60_000);
    await h.settle();
    expect(h.writes).toEqual([]);
    await hold(h, 1.0, 600_000);
    expect(levels(h)).toEqual(['cleared:BD_III']);
    store.close();
  });

  it('a siren that cannot be written raises output.fault, is tried again, and clears when it answers', async () => {
    const h = RuleHarness.create(dongha(), T0);
    h.failing.add('siren/relay1');
    h.engine.start();
    await hold(h, 4.5, 70_000);
    await h.settle();
    expect(h.alarms('output.fault/')).toEqual([{ key: 'output.fault/siren/relay1', state: 'raised', level: 'EDGE_MODBUS_TIMEOUT', ts: T0 + 60_000 }]);
    h.failing.clear();
    await h.time.advanceToAsync(h.time.now() + 5_000);
    await h.settle();
    expect(h.points.get('siren/relay1')).toBe(true);
    expect(h.alarms('output.fault/').map((a) => a.state)).toEqual(['raised', 'cleared']);
  });
});
