import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { builtinProfiles, CommandArgs, createCatalog, formatProblems, resolveGatewayConfig } from './index.js';

const catalog = createCatalog(builtinProfiles);
const base = { gateway: { id: 'gw-dongha-01' }, forwarding: { brokerUrl: 'mqtt://127.0.0.1:1884' } };

/** The YAML block of the README's "Rules at the edge" section: it must stay valid. */
function readmeExample(): Record<string, unknown> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = /<!-- rules-example[^>]*-->\s*```yaml\n([\s\S]*?)```/.exec(readme);
  if (!m?.[1]) throw new Error('README has no rules example');
  return parseYaml(m[1]) as Record<string, unknown>;
}

const resolve = (doc: unknown) => resolveGatewayConfig(doc, catalog);
const problemsOf = (doc: unknown) => {
  const r = resolve(doc);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('rules section of the gateway configuration', () => {
  it('accepts the README example and applies the defaults', () => {
    const r = resolve({ ...base, ...readmeExample() });
    if (!r.ok) throw new Error(formatProblems(r.problems));
    const rules = r.value.config.rules;
    expect(rules?.flood[0]).toMatchObject({ id: 'dongha', hysteresis: 0.05, fault: { badReadings: 3, badForMs: 60_000, frozenToleranceM: 0.0005 }, outputs: { bd1: [{ pattern: 'pulse:1000/1000', on: true, off: false }] } });
    expect(rules?.aqi[0]).toMatchObject({ minSlotsPerHour: 9, minHoursPerDay: 18, graceMs: 30_000, alarmAt: 'kem' });
    expect(rules?.lighting[0]).toMatchObject({ onLevel: 100, readBack: { windowMs: 60_000, tolerance: 3 }, ballastPoints: { setpoint: 'arc_power', actual: 'level' }, power: { tolerancePct: 20, settleMs: 120_000 } });
  });

  it('is optional', () => {
    const r = resolve(base);
    expect(r.ok && r.value.config.rules).toBeUndefined();
  });

  it('reports devices and points that do not exist, outputs that are not writable, and ids that clash, each with its path', () => {
    const doc = readmeExample() as { rules: Record<string, Array<Record<string, unknown>>> };
    const flood = doc.rules.flood?.[0] as Record<string, unknown>;
    flood.sensor = { dev: 'river-radar', pt: 'stage' };
    flood.outputs = { bd1: [{ dev: 'siren-board', pt: 'in1' }], bd3: [{ dev: 'horn', pt: 'relay1' }] };
    (doc.rules.aqi?.[0] as { id: string }).id = 'aqt';
    (doc.rules.lighting?.[0] as { ballasts: string[] }).ballasts = ['lamp-01', 'meter'];
    expect(problemsOf({ ...base, ...doc })).toEqual([
      'rules.flood[0].sensor.pt: device "river-radar" has no point "stage" (it has distance, distance_avg, level, level_avg, sensor_height)',
      'rules.flood[0].outputs.bd1[0].pt: point "in1" of device "siren-board" is not writable',
      'rules.flood[0].outputs.bd3[0].dev: no enabled device "horn" in lines (known: aqt, dali-ch0, lamp-01, lamp-02, meter, river-radar, siren-board)',
      'rules.aqi[0].id: "aqt" is also a device id: a station\'s derived readings would mix with the device\'s; choose another id',
      'rules.lighting[0].ballasts[1]: device "meter" has no point "arc_power" (it has voltage, current, active_power, apparent_power, power_factor, frequency, import_energy, total_energy)',
      'rules.lighting[0].ballasts[1]: device "meter" has no point "level" (it has voltage, current, active_power, apparent_power, power_factor, frequency, import_energy, total_energy)',
      'rules.lighting[0].ballasts[1]: device "meter" has no point "lamp_failure" (it has voltage, current, active_power, apparent_power, power_factor, frequency, import_energy, total_energy)',
      'rules.lighting[0].ballasts[1]: device "meter" has no point "ballast_failure" (it has voltage, current, active_power, apparent_power, power_factor, frequency, import_energy, total_energy)',
    ]);
  });

  it('drives outputs on Firmata boards too: a digital output is writable, an input is not', () => {
    const doc = readmeExample() as { lines: unknown[]; rules: { flood: Array<Record<string, unknown>> } };
    doc.lines.push({ id: 'post', type: 'firmata', path: '/dev/ttyACM0', devices: [{ id: 'warning-post', points: [{ name: 'siren', pin: 'D7', mode: 'digital-out' }, { name: 'float', pin: 'D2', mode: 'digital-in' }] }] });
    doc.rules.flood[0]!.outputs = { bd1: [{ dev: 'warning-post', pt: 'siren' }], bd2: [{ dev: 'warning-post', pt: 'float' }] };
    expect(problemsOf({ ...base, ...doc })).toEqual(['rules.flood[0].outputs.bd2[0].pt: point "float" of device "warning-post" is not writable']);
  });

  it('refuses hostile or invalid expressions at configuration time, at their path', () => {
    const doc = readmeExample() as { rules: { derived: unknown[] } };
    doc.rules.derived = [
      { dev: 'river-radar', pt: 'x1', expr: 'constructor' },
      { dev: 'river-radar', pt: 'x2', expr: 'distance.__proto__' },
      { dev: 'river-radar', pt: 'x3', expr: `distance${' + 1'.repeat(200)}` },
      { dev: 'river-radar', pt: 'x4', expr: 'depth * 2' },
      { dev: 'river-radar', pt: 'level', expr: 'distance' },
    ];
    const problems = problemsOf({ ...base, ...doc });
    expect(problems).toEqual([
      'rules.derived[0].expr: unsafe or invalid expression: "constructor" is not allowed',
      'rules.derived[1].expr: unsafe or invalid expression: property access (".", "[]") is not allowed',
      'rules.derived[2].expr: unsafe or invalid expression: expression longer than 500 characters',
    ]);
    doc.rules.derived.splice(0, 3);
    expect(problemsOf({ ...base, ...doc })).toEqual([
      'rules.derived[0].expr: "depth" is not a point of device "river-radar" (it has distance, distance_avg, level, level_avg, sensor_height)',
      'rules.derived[1].pt: device "river-radar" already has a point "level"',
    ]);
  });

  it('checks each rule on its own: levels in order, radar needs a sensor height, known time zones, patterns, one PM at least', () => {
    const problems = problemsOf({
      ...base,
      rules: {
        flood: [{ id: 's1', sensor: { dev: 'x', pt: 'y' }, kind: 'radar', levels: { bd1: 3, bd2: 2, bd3: 4 }, outputs: { bd1: [{ dev: 'x', pt: 'y', pattern: 'siren!' }] } }],
        aqi: [{ id: 's1', tz: 'Mars/Olympus', pollutants: { no2: { dev: 'x', pt: 'y' } } }],
        lighting: [{ id: 'g1', site: { lat: 16.8, lon: 107.1 }, broadcast: [], steps: [{ at: '25:00', level: 10 }] }],
      },
    });
    expect(problems).toEqual([
      'rules.flood[0].outputs.bd1[0].pattern: expected "steady", "pulse:ON/OFF" or "pulse:ON/OFFxCOUNT/EVERY" (milliseconds), e.g. "pulse:500/1500"',
      'rules.flood[0].sensorHeight: a radar station needs sensorHeight (stage = datum + sensorHeight - distance)',
      'rules.flood[0].levels: expected bd1 < bd2 < bd3, got 3 / 2 / 4',
      'rules.aqi[0].pollutants: a VN_AQI station needs pm2_5 or pm10',
      'rules.aqi[0].tz: unknown time zone "Mars/Olympus" (expected an IANA name like Asia/Ho_Chi_Minh)',
      'rules.lighting[0].steps[0].at: expected a local time HH:MM',
      'rules.lighting[0].broadcast: a lighting group needs broadcast points or ballasts to drive',
      'rules.aqi[0].id: duplicate rule id "s1" (also flood[0])',
    ]);
  });

  it('gives the rule commands argument schemas', () => {
    expect(CommandArgs['alarm.ack'].safeParse({ key: 'flood.level/dongha' }).success).toBe(true);
    expect(CommandArgs['alarm.ack'].safeParse({ key: 'Not A Key' }).success).toBe(false);
    expect(CommandArgs['lighting.override'].safeParse({ group: 'le-duan', level: 40, durationMs: 3_600_000 }).success).toBe(true);
    expect(CommandArgs['lighting.override'].safeParse({ group: 'le-duan', level: 101, durationMs: 3_600_000 }).success).toBe(false);
    const both = CommandArgs['lighting.override'].safeParse({ group: 'le-duan', level: 40, durationMs: 3_600_000, untilMs: 1 });
    expect(both.error?.issues[0]?.message).toBe('give exactly one of untilMs and durationMs');
  });
});
