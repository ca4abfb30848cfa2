import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RulesConfig, type LightingGroupRule, type RulesConfigInput } from '@cityedge/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRuleStateStore } from './sqlite-state-store.js';
import { FakeTime } from './testing/fake-time.js';
import { RuleHarness } from './testing/harness.js';

const at = (local: string) => Date.parse(`${local}+07:00`);
const LAMPS = ['lamp-01', 'lamp-02', 'lamp-03'];

function leDuan(extra: Partial<Record<keyof LightingGroupRule, unknown>> = {}): RulesConfigInput {
  return {
    lighting: [
      {
        id: 'le-duan',
        name: 'Le Duan street',
        site: { lat: 16.8163, lon: 107.1003, tz: 'Asia/Ho_Chi_Minh' },
        onOffsetMin: 10,
        offOffsetMin: 15,
        steps: [
          { at: '22:00', level: 75 },
          { at: '00:00', level: 40 },
          { at: '04:30', level: 100 },
        ],
        broadcast: [{ dev: 'dali-ch0', pt: 'broadcast_level' }],
        ballasts: LAMPS,
        ...extra,
      } as never,
    ],
  };
}

/** Broadcast writes: [local time, level]. */
const broadcasts = (h: RuleHarness) => h.writes.filter((w) => w.pt === 'broadcast_level').map((w) => [new Date(w.at + 7 * 3_600_000).toISOString().slice(11, 16), w.value]);

describe('lighting group', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('follows the astronomical clock through a night across midnight in UTC+7, writing the DALI broadcast level', async () => {
    const h = RuleHarness.create(leDuan(), at('2026-12-21T16:00:00'));
    h.engine.start();
    await h.time.advanceToAsync(at('2026-12-22T12:00:00'));
    expect(broadcasts(h)).toEqual([
      ['16:00', 0], // written once at start, whatever the lamps were left at
      ['17:33', 100], // sunset 17:23 + 10 min
      ['22:00', 75],
      ['00:00', 40],
      ['04:30', 100],
      ['06:01', 0], // sunrise 06:16 - 15 min
    ]);
    expect(h.readings.filter((r) => r.pt === 'lamp_level').map((r) => r.v)).toEqual([0, 100, 75, 40, 100, 0]);
    expect(h.readings.filter((r) => r.pt === 'lamp_mode').every((r) => r.v === 'schedule')).toBe(true);
  });

  it('writes each ballast when there is no broadcast point', async () => {
    const h = RuleHarness.create(leDuan({ broadcast: [] }), at('2026-12-21T17:30:00'));
    h.engine.start();
    await h.time.advanceToAsync(at('2026-12-21T17:34:00'));
    expect(h.writes.filter((w) => w.value === 100).map((w) => `${w.dev}.${w.pt}`)).toEqual(['lamp-01.arc_power', 'lamp-02.arc_power', 'lamp-03.arc_power']);
  });

  it('a technician override holds a level until its expiry, then the schedule resumes; bad requests are refused with codes', async () => {
    const h = RuleHarness.create(leDuan({ ballasts: [] }), at('2026-12-21T23:00:00'));
    h.engine.start();
    await h.settle();
    expect(h.engine.overrideLighting({ group: 'le-duan', level: 100, durationMs: 30 * 60_000 }, 'tech.lan')).toEqual({ ok: true, result: { group: 'le-duan', level: 100, untilMs: at('2026-12-21T23:30:00') } });
    await h.time.advanceToAsync(at('2026-12-22T00:30:00'));
    expect(broadcasts(h)).toEqual([
      ['23:00', 75],
      ['23:00', 100],
      ['23:30', 75],
      ['00:00', 40],
    ]);
    expect(h.events.map((e) => e.type)).toEqual(['lighting.override', 'lighting.override_ended']);
    expect(h.engine.overrideLighting({ group: 'nowhere', level: 10, durationMs: 60_000 }, 'x')).toMatchObject({ ok: false, code: 'EDGE_CMD_UNKNOWN_TARGET' });
    expect(h.engine.overrideLighting({ group: 'le-duan', level: 10, untilMs: at('2026-12-21T00:00:00') }, 'x')).toMatchObject({ ok: false, code: 'EDGE_CMD_BAD_ARGS' });
  });

  it('keeps an override across a restart (rules.db reopened) and ends it on time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-light-'));
    dirs.push(dir);
    const time = new FakeTime(at('2026-12-21T20:00:00'));
    const cfg = RulesConfig.parse(leDuan());
    let store = new SqliteRuleStateStore(join(dir, 'rules.db'), time.clock.now);
    let h = new RuleHarness(cfg, time, store);
    h.engine.start();
    expect(h.engine.overrideLighting({ group: 'le-duan', level: 20, untilMs: at('2026-12-21T23:00:00') }, 'tech.lan').ok).toBe(true);
    h.engine.stop();
    store.close();
    await time.advanceToAsync(at('2026-12-21T21:00:00'));
    store = new SqliteRuleStateStore(join(dir, 'rules.db'), time.clock.now);
    h = new RuleHarness(cfg, time, store);
    h.engine.start();
    await time.advanceToAsync(at('2026-12-21T23:30:00'));
    expect(broadcasts(h)).toEqual([
      ['21:00', 20],
      ['23:00', 75],
    ]);
    store.close();
  });

  it('a ballast that does not read back the level, or reports a failure bit, raises lamp.fault naming the lamp', async () => {
    const h = RuleHarness.create(leDuan(), at('2026-12-21T17:30:00'));
    h.engine.start();
    await h.time.advanceToAsync(at('2026-12-21T17:30:30'));
    for (const lamp of LAMPS) h.feed(lamp, 'level', 0);
    await h.time.advanceToAsync(at('2026-12-21T17:33:30'));
    h.feed('lamp-01', 'level', 100);
    h.feed('lamp-02', 'level', 99);
    h.feed('lamp-03', 'level', 0);
    await h.time.advanceToAsync(at('2026-12-21T17:35:00'));
    const switchedOn = h.writes.find((w) => w.value === 100)?.at ?? 0; // sunset 17:23:21 + 10 min
    expect(h.alarms('lamp.fault/')).toEqual([{ key: 'lamp.fault/lamp-03', state: 'raised', level: 'no_readback', ts: switchedOn + 60_000 }]);
    expect(h.events.at(-1)?.message).toContain('lamp lamp-03 (Le Duan street): does not read back 100 % (reads 0 %)');
    h.feed('lamp-03', 'level', 100);
    h.feed('lamp-02', 'lamp_failure', true);
    expect(h.alarms('lamp.fault/').map((a) => `${a.key} ${a.state} ${a.level}`)).toEqual(['lamp.fault/lamp-03 raised no_readback', 'lamp.fault/lamp-03 cleared no_readback', 'lamp.fault/lamp-02 raised lamp_failure']);
    expect(h.engine.acknowledge('lamp.fault/lamp-02', 'tech.lan')).toMatchObject({ ok: true, result: { key: 'lamp.fault/lamp-02' } });
    h.feed('lamp-02', 'lamp_failure', false);
    expect(h.alarms('lamp.fault/lamp-02').map((a) => a.state)).toEqual(['raised', 'cleared']);
  });

  it("the meter's power cross-checks the lamps: outside the band for the level and working lamps raises lamp.power", async () => {
    const h = RuleHarness.create(leDuan({ power: { dev: 'meter', pt: 'active_power', lampWatts: 100, standbyWatts: 5, settleMs: 120_000 } }), at('2026-12-21T17:30:00'));
    h.engine.start();
    await h.time.advanceToAsync(at('2026-12-21T17:30:30'));
    for (const lamp of LAMPS) h.feed(lamp, 'level', 0);
    await h.time.advanceToAsync(at('2026-12-21T17:34:00'));
    for (const lamp of LAMPS) h.feed(lamp, 'level', 100);
    h.feed('meter', 'active_power', 20); // not settled yet: ignored
    await h.time.advanceToAsync(at('2026-12-21T17:36:00'));
    h.feed('meter', 'active_power', 298);
    expect(h.alarms()).toEqual([]);
    h.feed('meter', 'active_power', 20);
    expect(h.alarms('lamp.power/')).toEqual([{ key: 'lamp.power/le-duan', state: 'raised', level: 'low', ts: at('2026-12-21T17:36:00') }]);
    // One lamp failed: 2 x 100 W + 5 W standby is now what 100 % should draw.
    h.feed('lamp-01', 'ballast_failure', true);
    h.feed('meter', 'active_power', 206);
    expect(h.alarms('lamp.power/').map((a) => a.state)).toEqual(['raised', 'cleared']);
  });

  it('darkness turns the lamps on by day, with hysteresis and a delay', async () => {
    const h = RuleHarness.create(leDuan({ lightSensor: { dev: 'lux', pt: 'lux', onBelowLux: 20, offAboveLux: 40, delayMs: 60_000 } }), at('2026-12-21T13:00:00'));
    h.engine.start();
    const lux = async (v: number, minutes: number) => {
      for (let i = 0; i < minutes * 2; i++) {
        await h.time.advanceToAsync(h.time.now() + 30_000);
        h.feed('lux', 'lux', v);
      }
    };
    await lux(10, 0.5); // a passing cloud: shorter than the delay
    await lux(50, 1);
    await lux(10, 3);
    await lux(30, 10); // between the thresholds: stays on
    await lux(45, 3);
    expect(broadcasts(h)).toEqual([
      ['13:00', 0],
      ['13:03', 100],
      ['13:16', 0],
    ]);
    expect(h.readings.filter((r) => r.pt === 'lamp_mode').map((r) => r.v)).toEqual(['schedule', 'dark', 'schedule']);
  });
});
