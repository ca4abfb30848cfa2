import { CommandError, type GatewayEvent, type Reading, type RulesConfig } from '@cityedge/contract';
import { AqiStation } from './aqi-station.js';
import { DerivedReading } from './derived-reading.js';
import { FloodStation } from './flood-station.js';
import { LightingGroup, type LightingOverrideRequest } from './lighting-group.js';
import { OutputWriter } from './output-writer.js';
import type { Rule, RuleCommandResult, RuleOutput } from './rule.js';
import type { RuleContext } from './rule-context.js';

export interface RuleEngineStats {
  rules: number;
  readingsIn: number;
  readingsRouted: number;
  readingsOut: number;
  events: number;
  ruleErrors: number;
}

/**
 * The rules of one configuration: built from its `rules` section, fed every batch of readings
 * the sources produce (and the agent's events), producing derived readings, alarm events and
 * writes through the RuleContext. start() drives outputs to their state (a latched siren sounds
 * again after a restart) and arms timers; stop() cancels them. A rule that throws is logged and
 * counted; it never stops the others.
 */
export class RuleEngine {
  private readonly rules: Rule[] = [];
  /** dev -> pt -> rules reading it. */
  private readonly routes = new Map<string, Map<string, Rule[]>>();
  private readonly lighting = new Map<string, LightingGroup>();
  private readonly writer: OutputWriter;
  private batch: Reading[] | undefined;
  private touched = new Set<Rule & { endBatch(): void }>();
  private started = false;
  private readonly s: RuleEngineStats = { rules: 0, readingsIn: 0, readingsRouted: 0, readingsOut: 0, events: 0, ruleErrors: 0 };

  constructor(
    config: RulesConfig | undefined,
    private readonly ctx: RuleContext,
  ) {
    const out: RuleOutput = {
      reading: (r) => {
        this.s.readingsOut++;
        if (this.batch) this.batch.push(r);
        else ctx.emit.readings([r]);
      },
      event: (e) => {
        this.s.events++;
        ctx.emit.event(e);
      },
    };
    this.writer = new OutputWriter(ctx, out.event);
    for (const c of config?.flood ?? []) this.add(new FloodStation(c, ctx, out, this.writer));
    for (const c of config?.aqi ?? []) this.add(new AqiStation(c, ctx, out));
    for (const c of config?.lighting ?? []) {
      const g = new LightingGroup(c, ctx, out, this.writer);
      this.lighting.set(c.id, g);
      this.add(g);
    }
    for (const c of config?.derived ?? []) this.add(new DerivedReading(c, out));
    this.s.rules = this.rules.length;
  }

  private add(rule: Rule): void {
    this.rules.push(rule);
    for (const key of rule.inputs) {
      const slash = key.indexOf('/');
      const dev = key.slice(0, slash);
      const pt = key.slice(slash + 1);
      let byPt = this.routes.get(dev);
      if (!byPt) this.routes.set(dev, (byPt = new Map()));
      const list = byPt.get(pt);
      if (list) list.push(rule);
      else byPt.set(pt, [rule]);
    }
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const known = new Set(this.rules.map((r) => r.stateId));
    for (const id of this.ctx.store.ids()) {
      // State of rules no longer configured; engine-wide documents are kept.
      if (!id.startsWith('engine/') && !known.has(id)) this.ctx.store.delete(id);
    }
    for (const r of this.rules) this.guard(r, () => r.start());
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    for (const r of [...this.rules].reverse()) this.guard(r, () => r.stop());
  }

  /** Every batch of readings a source produced. */
  onReadings(readings: readonly Reading[]): void {
    this.s.readingsIn += readings.length;
    if (!this.started) return;
    const outer = this.batch === undefined;
    if (outer) this.batch = [];
    try {
      for (const r of readings) {
        const rules = this.routes.get(r.dev)?.get(r.pt);
        if (!rules) continue;
        this.s.readingsRouted++;
        for (const rule of rules) {
          this.guard(rule, () => rule.onReading(r));
          if ('endBatch' in rule) this.touched.add(rule as Rule & { endBatch(): void });
        }
      }
      for (const rule of this.touched) this.guard(rule, () => rule.endBatch());
      this.touched.clear();
    } finally {
      if (outer) {
        const batch = this.batch;
        this.batch = undefined;
        if (batch && batch.length > 0) this.ctx.emit.readings(batch);
      }
    }
  }

  /** The agent's own events (device.offline feeds sensor-fault detection). */
  onEvent(e: GatewayEvent): void {
    if (!this.started) return;
    for (const r of this.rules) if (r.onEvent) this.guard(r, () => r.onEvent?.(e));
  }

  /** `alarm.ack`: silences the local warning of a raised alarm without clearing it. */
  acknowledge(key: string, actor: string): RuleCommandResult {
    for (const r of this.rules) {
      const res = r.acknowledge?.(key, actor);
      if (res) return res;
    }
    return { ok: false, code: CommandError.unknownTarget, message: `no raised alarm "${key}" owned by this gateway's rules` };
  }

  /** `lighting.override`: a level until a time, then the schedule resumes. */
  overrideLighting(req: LightingOverrideRequest, actor: string): RuleCommandResult {
    const g = this.lighting.get(req.group);
    if (!g) return { ok: false, code: CommandError.unknownTarget, message: `no lighting group "${req.group}" (known: ${[...this.lighting.keys()].join(', ') || 'none'})` };
    return g.override(req, actor);
  }

  stats(): RuleEngineStats {
    return { ...this.s };
  }

  private guard(rule: Rule, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.s.ruleErrors++;
      this.ctx.logger.error({ err, rule: rule.stateId }, 'rule failed');
    }
  }
}
