import * as z from 'zod';
import { expressionProblem } from './safe-expression.js';

/**
 * Rules the gateway evaluates locally from its reading bus (the `rules` section of the gateway
 * configuration): community flood warning per water-level station, the air-quality index per
 * air station, the street-lighting clock per lighting group, and derived readings from safe
 * expressions. Cross-references to devices and points are checked in rules-references.ts,
 * where the resolved profiles are known.
 */

const ruleId = (what: string) =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, `expected a ${what} id of letters, digits, ".", "_" and "-" (at most 64)`);
const deviceId = ruleId('device');
const pointName = z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/, 'expected a point name');

/** One point of one device: where a rule reads from or writes to. */
export const PointRef = z.strictObject({ dev: deviceId, pt: pointName });
export type PointRef = z.infer<typeof PointRef>;

const ms = (max: number) => z.int().min(0).max(max);
const DAY = 86_400_000;

/**
 * How a warning output is driven while its level is active: `steady` (on), `pulse:ON/OFF`
 * (ms on, ms off, repeating), or `pulse:ON/OFFxN/EVERY` (N pulses, the burst repeating every
 * EVERY ms), e.g. `pulse:500/500x3/10000` sounds three short blasts every 10 s.
 */
export const OUTPUT_PATTERN = /^(steady|pulse:(\d{2,6})\/(\d{2,6})(x(\d{1,3})\/(\d{3,7}))?)$/;

export const OutputPattern = z.string().regex(OUTPUT_PATTERN, 'expected "steady", "pulse:ON/OFF" or "pulse:ON/OFFxCOUNT/EVERY" (milliseconds), e.g. "pulse:500/1500"');

export const WarningOutput = PointRef.extend({
  pattern: OutputPattern.default('steady'),
  /** Value written for on and off: a coil or digital pin takes true/false, a holding register 1/0. */
  on: z.union([z.boolean(), z.number().finite()]).default(true),
  off: z.union([z.boolean(), z.number().finite()]).default(false),
});
export type WarningOutput = z.infer<typeof WarningOutput>;

export const FloodStationRule = z
  .strictObject({
    /** Station id; its derived readings are published with this as `dev`. */
    id: ruleId('station'),
    name: z.string().max(128).optional(),
    sensor: PointRef,
    /** radar: stage = datum + sensorHeight - distance; level (pressure, or a sensor that outputs stage): stage = value + datum. */
    kind: z.enum(['radar', 'level']),
    /** Station datum offset, m. */
    datum: z.number().finite().default(0),
    /** Radar: height of the sensor's reference point above the datum's zero, m. */
    sensorHeight: z.number().positive().max(200).optional(),
    /** Alarm levels (bao dong I/II/III) as stage on the station datum, m, with where they come from. */
    levels: z.strictObject({
      bd1: z.number().finite(),
      bd2: z.number().finite(),
      bd3: z.number().finite(),
      /** Which decision set them (they change over time: kept with the configuration version). */
      ref: z.string().max(128).optional(),
    }),
    /** A level clears only below threshold - hysteresis, m. */
    hysteresis: z.number().min(0).max(5).default(0.05),
    /** Stage must stay at or above a level this long before it is raised. */
    onDelayMs: ms(DAY).default(60_000),
    /** Stage must stay below (level - hysteresis) this long before it is lowered or cleared. */
    offDelayMs: ms(DAY).default(300_000),
    /** Rate-of-rise alarm: rise over window above an arming height, then hold-off. */
    rateOfRise: z
      .strictObject({
        riseM: z.number().positive().max(50),
        windowMs: z.int().min(60_000).max(DAY),
        armAboveM: z.number().finite(),
        /** Defaults to half the window. */
        holdOffMs: ms(DAY).optional(),
      })
      .optional(),
    /** Sensor failure: raises sensor.fault/<dev>; the flood level is held, never cleared by it. */
    fault: z
      .strictObject({
        /** Consecutive bad-quality readings. */
        badReadings: z.int().min(1).max(1000).default(3),
        /** Or bad quality without a good reading for this long. */
        badForMs: ms(DAY).default(60_000),
        /** No reading at all for this long. */
        staleAfterMs: z.int().min(1000).max(DAY).default(300_000),
        /** A value that does not change by more than frozenToleranceM for this long is frozen (0 = off). */
        frozenForMs: ms(7 * DAY).default(6 * 3_600_000),
        frozenToleranceM: z.number().min(0).max(1).default(0.0005),
      })
      .default({ badReadings: 3, badForMs: 60_000, staleAfterMs: 300_000, frozenForMs: 6 * 3_600_000, frozenToleranceM: 0.0005 }),
    /** Local warning outputs (siren, beacon) per level and for the rate-of-rise alarm. */
    outputs: z
      .strictObject({
        bd1: z.array(WarningOutput).max(16).default([]),
        bd2: z.array(WarningOutput).max(16).default([]),
        bd3: z.array(WarningOutput).max(16).default([]),
        rise: z.array(WarningOutput).max(16).default([]),
      })
      .default({ bd1: [], bd2: [], bd3: [], rise: [] }),
  })
  .superRefine((s, ctx) => {
    if (s.kind === 'radar' && s.sensorHeight === undefined) ctx.addIssue({ code: 'custom', path: ['sensorHeight'], message: 'a radar station needs sensorHeight (stage = datum + sensorHeight - distance)' });
    if (s.kind === 'level' && s.sensorHeight !== undefined) ctx.addIssue({ code: 'custom', path: ['sensorHeight'], message: 'only a radar station has a sensorHeight' });
    if (!(s.levels.bd1 < s.levels.bd2 && s.levels.bd2 < s.levels.bd3)) ctx.addIssue({ code: 'custom', path: ['levels'], message: `expected bd1 < bd2 < bd3, got ${s.levels.bd1} / ${s.levels.bd2} / ${s.levels.bd3}` });
    if (s.rateOfRise?.holdOffMs !== undefined && s.rateOfRise.holdOffMs > s.rateOfRise.windowMs) ctx.addIssue({ code: 'custom', path: ['rateOfRise', 'holdOffMs'], message: 'must not exceed windowMs' });
  });
export type FloodStationRule = z.infer<typeof FloodStationRule>;
export type FloodStationRuleInput = z.input<typeof FloodStationRule>;

/** Pollutants of the VN_AQI (Decision 1459/QD-TCMT). */
export const AQI_POLLUTANTS = ['pm2_5', 'pm10', 'o3', 'no2', 'so2', 'co'] as const;
export type AqiPollutant = (typeof AQI_POLLUTANTS)[number];

/** Units a pollutant point may report in; gases in ppb/ppm are converted at 25 C and 1 atm. */
export const CONCENTRATION_UNITS = ['ug/m3', 'mg/m3', 'ppb', 'ppm'] as const;
export const ConcentrationUnit = z.enum(CONCENTRATION_UNITS);

/** VN_AQI categories, lowest first (slugs of Tot, Trung binh, Kem, Xau, Rat xau, Nguy hai). */
export const VN_AQI_CATEGORIES = ['tot', 'trung_binh', 'kem', 'xau', 'rat_xau', 'nguy_hai'] as const;
export type VnAqiCategory = (typeof VN_AQI_CATEGORIES)[number];

const PollutantInput = PointRef.extend({
  /** Unit of the point when its readings do not carry one (readings' own unit wins). */
  unit: ConcentrationUnit.optional(),
});

export const AqiStationRule = z
  .strictObject({
    id: ruleId('station'),
    name: z.string().max(128).optional(),
    /** IANA time zone of the station: hours and days are local (the daily AQI covers 01:00..24:00). */
    tz: z.string().default('Asia/Ho_Chi_Minh'),
    pollutants: z.strictObject(Object.fromEntries(AQI_POLLUTANTS.map((p) => [p, PollutantInput.optional()])) as Record<AqiPollutant, z.ZodOptional<typeof PollutantInput>>),
    /** Also publish the US EPA AQI (2024 PM2.5 breakpoints), from PM2.5 only. */
    epa: z.boolean().default(false),
    /** An hour counts when this many of its twelve 5-minute slots have a good reading. */
    minSlotsPerHour: z.int().min(1).max(12).default(9),
    /** A day counts when this many of its hourly means exist (and 8-hour O3 means need 6 of 8 hours). */
    minHoursPerDay: z.int().min(1).max(24).default(18),
    /** Readings of an hour may arrive this late before the hour is closed and published. */
    graceMs: ms(600_000).default(30_000),
    /** Raise aqi.category/<station> while the hourly VN_AQI category is at or above this one. */
    alarmAt: z.enum(VN_AQI_CATEGORIES).optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.pollutants.pm2_5 && !s.pollutants.pm10) ctx.addIssue({ code: 'custom', path: ['pollutants'], message: 'a VN_AQI station needs pm2_5 or pm10' });
    if (s.epa && !s.pollutants.pm2_5) ctx.addIssue({ code: 'custom', path: ['epa'], message: 'the US EPA AQI here is computed from pm2_5, which is not configured' });
    if (!validTimeZone(s.tz)) ctx.addIssue({ code: 'custom', path: ['tz'], message: `unknown time zone "${s.tz}" (expected an IANA name like Asia/Ho_Chi_Minh)` });
  });
export type AqiStationRule = z.infer<typeof AqiStationRule>;

const localTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time HH:MM');

export const LightingGroupRule = z
  .strictObject({
    /** Group id: what `lighting.override` names. */
    id: ruleId('lighting group'),
    name: z.string().max(128).optional(),
    site: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180), tz: z.string().default('Asia/Ho_Chi_Minh') }),
    /** On at sunset + onOffsetMin (negative: before sunset). */
    onOffsetMin: z.int().min(-180).max(180).default(0),
    /** Off at sunrise - offOffsetMin (negative: after sunrise). */
    offOffsetMin: z.int().min(-180).max(180).default(0),
    /** Level from switch-on, %. */
    onLevel: z.int().min(1).max(100).default(100),
    /** Dimming steps through the night in local time, e.g. 22:00 75, 00:00 40, 04:30 100. */
    steps: z.array(z.strictObject({ at: localTime, level: z.int().min(0).max(100) })).max(12).default([]),
    /** Level written to the broadcast points (e.g. intesis-dali-channel broadcast_level). */
    broadcast: z.array(PointRef).max(8).default([]),
    /** Ballasts (intesis-dali-ballast devices): read back, failure bits; written one by one when there is no broadcast. */
    ballasts: z.array(deviceId).max(256).default([]),
    ballastPoints: z
      .strictObject({ setpoint: pointName.default('arc_power'), actual: pointName.default('level'), lampFailure: pointName.default('lamp_failure'), ballastFailure: pointName.default('ballast_failure') })
      .default({ setpoint: 'arc_power', actual: 'level', lampFailure: 'lamp_failure', ballastFailure: 'ballast_failure' }),
    /** A ballast whose actual level is not within tolerance of the set level this long after a write raises lamp.fault/<dev>. */
    readBack: z.strictObject({ windowMs: z.int().min(1000).max(3_600_000).default(60_000), tolerance: z.int().min(0).max(50).default(3) }).default({ windowMs: 60_000, tolerance: 3 }),
    /** A failed write is tried again after this long. */
    retryMs: z.int().min(1000).max(3_600_000).default(30_000),
    /** Dark turns the lamps on outside the scheduled night (storm, eclipse): lux below onBelowLux, until above offAboveLux. */
    lightSensor: PointRef.extend({ onBelowLux: z.number().min(0), offAboveLux: z.number().min(0), delayMs: ms(3_600_000).default(60_000) }).optional(),
    /** The meter feeding the group: its power must follow the level. */
    power: PointRef.extend({
      /** Watts of one lamp at 100 %; with no ballasts listed, the group's watts at 100 %. */
      lampWatts: z.number().positive(),
      standbyWatts: z.number().min(0).default(0),
      /** Allowed difference: the larger of tolerancePct of the expected power and toleranceWatts. */
      tolerancePct: z.number().min(0).max(100).default(20),
      toleranceWatts: z.number().min(0).default(10),
      /** Time after a level change before the power is checked. */
      settleMs: ms(3_600_000).default(120_000),
    }).optional(),
  })
  .superRefine((g, ctx) => {
    if (g.broadcast.length === 0 && g.ballasts.length === 0) ctx.addIssue({ code: 'custom', path: ['broadcast'], message: 'a lighting group needs broadcast points or ballasts to drive' });
    if (g.lightSensor && g.lightSensor.offAboveLux <= g.lightSensor.onBelowLux) ctx.addIssue({ code: 'custom', path: ['lightSensor', 'offAboveLux'], message: 'must be above onBelowLux (hysteresis)' });
    if (!validTimeZone(g.site.tz)) ctx.addIssue({ code: 'custom', path: ['site', 'tz'], message: `unknown time zone "${g.site.tz}" (expected an IANA name like Asia/Ho_Chi_Minh)` });
    const seen = new Map<string, number>();
    g.steps.forEach((s, i) => {
      const prev = seen.get(s.at);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['steps', i, 'at'], message: `duplicate step time ${s.at} (also steps[${prev}])` });
      seen.set(s.at, i);
    });
  });
export type LightingGroupRule = z.infer<typeof LightingGroupRule>;

const expression = z.string().superRefine((src, ctx) => {
  const problem = expressionProblem(src);
  if (problem) ctx.addIssue({ code: 'custom', message: `unsafe or invalid expression: ${problem}` });
});

/** A reading computed from the latest values of one device's points, published as dev/pt. */
export const DerivedReadingRule = z.strictObject({
  /** The device whose points the expression reads (by point name); also the derived reading's dev. */
  dev: deviceId,
  /** Name of the derived point; must not be one of the device's own points. */
  pt: pointName,
  expr: expression,
  unit: z.string().max(32).optional(),
});
export type DerivedReadingRule = z.infer<typeof DerivedReadingRule>;

export const RulesConfig = z
  .strictObject({
    flood: z.array(FloodStationRule).max(64).default([]),
    aqi: z.array(AqiStationRule).max(64).default([]),
    lighting: z.array(LightingGroupRule).max(256).default([]),
    derived: z.array(DerivedReadingRule).max(1000).default([]),
  })
  .superRefine((r, ctx) => {
    // Station and group ids are the `dev` of derived readings and name alarms: one namespace.
    const ids = new Map<string, string>();
    const claim = (id: string, at: (string | number)[]) => {
      const prev = ids.get(id);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicate rule id "${id}" (also ${prev})` });
      else ids.set(id, `${at[0]}[${at[1]}]`);
    };
    r.flood.forEach((s, i) => claim(s.id, ['flood', i]));
    r.aqi.forEach((s, i) => claim(s.id, ['aqi', i]));
    r.lighting.forEach((g, i) => claim(g.id, ['lighting', i]));
  });
export type RulesConfig = z.infer<typeof RulesConfig>;
export type RulesConfigInput = z.input<typeof RulesConfig>;

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
