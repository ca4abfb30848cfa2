import { join } from 'node:path';
import type { Logger } from 'pino';
import { RulesConfig, type Reading, type RulesConfigInput } from '@cityedge/contract';
import { RuleEngine, SqliteRuleStateStore, type RuleScheduler } from '@cityedge/edge-agent';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

const SECTION = '9. rules (in process, fake time)';
export const RULE_COST_TARGET_US = 20;

const FLOOD = 20;
const AQI = 10;
const LIGHTING = 10;
const DERIVED = 10;
const BALLASTS = 8;
const READINGS_PER_SECOND = 500;

/**
 * Timers on simulated time for the benchmark: due timers run in time order when the feed moves
 * the clock (a sorted array is plenty for the few dozen timers 50 rules keep).
 */
class SimulatedTime implements RuleScheduler {
  now = 0;
  private queue: Array<{ at: number; fn: () => void; live: boolean }> = [];
  readonly clock = { now: () => this.now };

  setTimer(atMs: number, fn: () => void) {
    const t = { at: atMs, fn, live: true };
    const i = this.queue.findIndex((q) => q.at > atMs);
    this.queue.splice(i < 0 ? this.queue.length : i, 0, t);
    return t;
  }

  cancel(handle: object): void {
    (handle as { live: boolean }).live = false;
  }

  runUntil(t: number): void {
    while (this.queue.length > 0 && (this.queue[0]?.at ?? Infinity) <= t) {
      const next = this.queue.shift();
      if (!next?.live) continue;
      this.now = Math.max(this.now, next.at);
      next.fn();
    }
    this.now = t;
  }
}

/** 50 rules: 20 flood stations, 10 AQI stations (6 pollutants), 10 lighting groups (8 ballasts, a meter), 10 derived readings. */
function fiftyRules(): RulesConfigInput {
  return {
    flood: Array.from({ length: FLOOD }, (_, i) => ({
      id: `station-${i}`,
      sensor: { dev: `radar-${i}`, pt: 'distance' },
      kind: 'radar' as const,
      sensorHeight: 8,
      levels: { bd1: 2, bd2: 3, bd3: 4 },
      rateOfRise: { riseM: 1, windowMs: 3_600_000, armAboveM: 2.5 },
      outputs: { bd1: [{ dev: `sirens-${i}`, pt: 'relay2', pattern: 'pulse:1000/1000' }], bd2: [{ dev: `sirens-${i}`, pt: 'relay1', pattern: 'pulse:500/1500' }], bd3: [{ dev: `sirens-${i}`, pt: 'relay1', pattern: 'steady' }] },
    })),
    aqi: Array.from({ length: AQI }, (_, i) => ({
      id: `air-${i}`,
      pollutants: Object.fromEntries(['pm2_5', 'pm10', 'o3', 'no2', 'so2', 'co'].map((p) => [p, { dev: `aqt-${i}`, pt: p, unit: p.startsWith('pm') ? 'ug/m3' : 'ppb' }])),
      epa: true,
      alarmAt: 'kem' as const,
    })),
    lighting: Array.from({ length: LIGHTING }, (_, i) => ({
      id: `street-${i}`,
      site: { lat: 16.8163, lon: 107.1003, tz: 'Asia/Ho_Chi_Minh' },
      steps: [
        { at: '22:00', level: 75 },
        { at: '00:00', level: 40 },
      ],
      broadcast: [{ dev: `dali-${i}`, pt: 'broadcast_level' }],
      ballasts: Array.from({ length: BALLASTS }, (_, b) => `lamp-${i}-${b}`),
      power: { dev: `meter-${i}`, pt: 'active_power', lampWatts: 100 },
    })),
    derived: Array.from({ length: DERIVED }, (_, i) => ({ dev: `sht-${i}`, pt: 'dew_point', expr: 'temperature - (100 - humidity) / 5' })),
  };
}

/** One simulated second of readings: every rule input once, topped up with points no rule reads, 500 in all. */
function secondOfReadings(ts: number): Reading[] {
  const out: Reading[] = [];
  const r = (dev: string, pt: string, v: number | boolean): Reading => ({ dev, pt, ts, v, q: 'good' });
  const phase = (ts / 1_200_000) * 2 * Math.PI;
  for (let i = 0; i < FLOOD; i++) out.push(r(`radar-${i}`, 'distance', 8 - (2.6 + 2 * Math.sin(phase + i))));
  for (let i = 0; i < AQI; i++) for (const [p, v] of [['pm2_5', 40 + 30 * Math.sin(phase + i)], ['pm10', 60], ['o3', 30], ['no2', 20], ['so2', 3], ['co', 400]] as const) out.push(r(`aqt-${i}`, p, v));
  for (let i = 0; i < LIGHTING; i++) {
    for (let b = 0; b < BALLASTS; b++) out.push(r(`lamp-${i}-${b}`, 'level', 100), r(`lamp-${i}-${b}`, 'lamp_failure', false), r(`lamp-${i}-${b}`, 'ballast_failure', false));
    out.push(r(`meter-${i}`, 'active_power', 800));
  }
  for (let i = 0; i < DERIVED; i++) out.push(r(`sht-${i}`, 'temperature', 30), r(`sht-${i}`, 'humidity', 80));
  for (let k = 0; out.length < READINGS_PER_SECOND; k++) out.push(r(`other-${k % 50}`, `p${k}`, k));
  return out;
}

/**
 * Rule evaluation cost per reading: the engine with 50 rules is fed 500 readings per simulated
 * second (one batch per device, as line schedulers deliver them) for `seconds` of simulated time
 * across a dusk and an hour boundary, with rule state in a real rules.db. Reports wall time per
 * reading, heap growth and what the rules produced.
 */
export async function benchRules(scope: Scope, opts: { logger: Logger; seconds?: number }): Promise<Row[]> {
  const seconds = opts.seconds ?? 3600;
  const s = scope.child();
  try {
    const time = new SimulatedTime();
    time.now = Date.parse('2026-12-21T16:50:00+07:00');
    const store = new SqliteRuleStateStore(join(s.tempDir('cityedge-bench-rules-'), 'rules.db'), time.clock.now);
    s.defer(() => store.close());
    let out = 0;
    let events = 0;
    let writes = 0;
    let storeWrites = 0;
    const countingStore = {
      get: store.get.bind(store),
      set: (id: string, v: unknown) => {
        storeWrites++;
        store.set(id, v);
      },
      delete: store.delete.bind(store),
      ids: store.ids.bind(store),
    };
    const engine = new RuleEngine(RulesConfig.parse(fiftyRules()), {
      clock: time.clock,
      scheduler: time,
      store: countingStore,
      logger: opts.logger,
      emit: { readings: (r) => (out += r.length), event: () => events++ },
      write: () => {
        writes++;
        return Promise.resolve();
      },
    });
    engine.start();
    // Readings grouped per device, as each poll delivers one batch.
    const batches = (ts: number) => {
      const byDev = new Map<string, Reading[]>();
      for (const rd of secondOfReadings(ts)) {
        const list = byDev.get(rd.dev);
        if (list) list.push(rd);
        else byDev.set(rd.dev, [rd]);
      }
      return [...byDev.values()];
    };
    // Warm-up: one simulated minute, not measured.
    for (let i = 0; i < 60; i++) {
      time.runUntil(time.now + 1000);
      for (const b of batches(time.now)) engine.onReadings(b);
      await Promise.resolve();
    }
    (globalThis as { gc?: () => void }).gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    let evalMs = 0;
    let fed = 0;
    for (let i = 0; i < seconds; i++) {
      time.runUntil(time.now + 1000);
      const second = batches(time.now);
      const t0 = performance.now();
      for (const b of second) engine.onReadings(b);
      evalMs += performance.now() - t0;
      fed += READINGS_PER_SECOND;
      if (i % 60 === 0) await new Promise((r) => setImmediate(r)); // let write promises settle
    }
    (globalThis as { gc?: () => void }).gc?.();
    const heap1 = process.memoryUsage().heapUsed;
    engine.stop();
    const usPerReading = (evalMs * 1000) / fed;
    const st = engine.stats();
    return [
      {
        section: SECTION,
        name: `cost per reading, ${READINGS_PER_SECOND} readings/s, 50 rules, ${seconds} s simulated`,
        value: usPerReading,
        unit: 'µs',
        target: { op: '<=', value: RULE_COST_TARGET_US },
        note: `${((usPerReading * READINGS_PER_SECOND) / 10_000).toFixed(2)} % of one core at 500 readings/s; ${Math.round(st.readingsRouted / (fed / READINGS_PER_SECOND))} of 500 routed to a rule`,
      },
      { section: SECTION, name: 'readings one core could evaluate', value: 1e6 / usPerReading, unit: 'readings/s' },
      { section: SECTION, name: 'heap growth over the run', value: (heap1 - heap0) / 1024 / 1024, unit: 'MiB', note: `heap ${(heap1 / 1024 / 1024).toFixed(1)} MiB at the end${(globalThis as { gc?: unknown }).gc ? '' : ' (no --expose-gc: includes garbage)'}` },
      { section: SECTION, name: 'what the rules produced', value: out, unit: 'readings', note: `${events} events, ${writes} writes, ${storeWrites} rules.db commits, ${st.ruleErrors} rule errors` },
    ];
  } finally {
    await s.close();
  }
}
