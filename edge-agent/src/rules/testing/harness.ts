import type { GatewayEvent, Reading, RulesConfig, RulesConfigInput } from '@cityedge/contract';
import { RulesConfig as RulesSchema } from '@cityedge/contract';
import { pino } from 'pino';
import { RuleEngine } from '../rule-engine.js';
import type { RuleContext, RuleStateStore } from '../rule-context.js';
import { MemoryRuleStateStore } from '../sqlite-state-store.js';
import { FakeTime, settle } from './fake-time.js';

export interface Write {
  at: number;
  dev: string;
  pt: string;
  value: number | boolean;
}

/**
 * A rule engine on fake time with a recording bus and a device directory that keeps the values
 * written (and can be told to refuse writes to a point, as a device that went offline would).
 */
export class RuleHarness {
  readonly readings: Reading[] = [];
  readonly events: GatewayEvent[] = [];
  readonly writes: Write[] = [];
  readonly points = new Map<string, number | boolean>();
  readonly failing = new Set<string>();
  readonly ctx: RuleContext;
  engine: RuleEngine;

  constructor(
    readonly config: RulesConfig,
    readonly time: FakeTime,
    readonly store: RuleStateStore = new MemoryRuleStateStore(),
  ) {
    this.ctx = {
      clock: time.clock,
      scheduler: time,
      store,
      logger: pino({ level: 'silent' }),
      emit: { readings: (r) => this.readings.push(...r), event: (e) => this.events.push(e) },
      write: (dev, pt, value) => {
        if (this.failing.has(`${dev}/${pt}`)) return Promise.reject(Object.assign(new Error(`device ${dev} did not answer`), { code: 'EDGE_MODBUS_TIMEOUT' }));
        this.writes.push({ at: time.now(), dev, pt, value });
        this.points.set(`${dev}/${pt}`, value);
        return Promise.resolve();
      },
    };
    this.engine = new RuleEngine(config, this.ctx);
  }

  static create(input: RulesConfigInput, startMs: number, store?: RuleStateStore): RuleHarness {
    return new RuleHarness(RulesSchema.parse(input), new FakeTime(startMs), store);
  }

  /** A new engine on the same store and clock: what a restart of the agent does. */
  restart(): void {
    this.engine.stop();
    this.engine = new RuleEngine(this.config, this.ctx);
    this.engine.start();
  }

  feed(dev: string, pt: string, v: number | boolean | null, opts: { ts?: number; u?: string; err?: string } = {}): void {
    const ts = opts.ts ?? this.time.now();
    const r: Reading = v === null ? { dev, pt, ts, v: null, q: 'bad', err: opts.err ?? 'EDGE_MODBUS_TIMEOUT' } : { dev, pt, ts, v, q: 'good', ...(opts.u && { u: opts.u }) };
    this.engine.onReadings([r]);
  }

  /** Lets the promises of writes settle. */
  async settle(): Promise<void> {
    await settle();
  }

  alarms(keyPrefix?: string): Array<{ key: string; state: string; level?: string | undefined; ts: number }> {
    return this.events.filter((e) => e.alarm && (!keyPrefix || e.alarm.key.startsWith(keyPrefix))).map((e) => ({ key: e.alarm?.key ?? '', state: e.alarm?.state ?? '', level: e.alarm?.level, ts: e.ts }));
  }

  latest(dev: string, pt: string): Reading | undefined {
    for (let i = this.readings.length - 1; i >= 0; i--) {
      const r = this.readings[i];
      if (r && r.dev === dev && r.pt === pt) return r;
    }
    return undefined;
  }
}
