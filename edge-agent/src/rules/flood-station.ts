import { ALARM_ACKNOWLEDGED, EventType, type FloodStationRule, type GatewayEvent, type Reading, type WarningOutput, CommandError } from '@cityedge/contract';
import { AlarmLatch, type AlarmSnapshot } from './alarm-latch.js';
import { LEVEL_NAMES, stageFrom, targetLevel } from './flood-levels.js';
import type { OutputWriter } from './output-writer.js';
import { pointKey, type Rule, type RuleCommandResult, type RuleOutput } from './rule.js';
import type { RuleContext, TimerHandle } from './rule-context.js';
import { WarningOutputDriver } from './warning-output.js';

const MINUTE = 60_000;

/** What survives a restart: alarm states, the acknowledgement, the rise history (one sample a minute). */
interface FloodState {
  level: number;
  levelAlarm: AlarmSnapshot;
  /** Acknowledged at this level: outputs stay silent until the level rises above it. */
  silencedAt?: number | undefined;
  rise: AlarmSnapshot;
  riseSilenced?: boolean | undefined;
  fault: AlarmSnapshot;
  history: Array<[number, number]>;
}

type FaultCause = 'bad_quality' | 'frozen' | 'no_data' | 'offline';

/**
 * One water-level station: stage from its sensor, BD I/II/III with hysteresis and on/off
 * delays, the rate-of-rise alarm, sensor-fault detection that holds (never clears) the flood
 * level, and the local warning outputs per level with acknowledgement and re-arming.
 */
export class FloodStation implements Rule {
  readonly stateId: string;
  readonly inputs: readonly string[];
  private readonly thresholds: [number, number, number];
  private state: FloodState;
  private readonly levelAlarm: AlarmLatch;
  private readonly riseAlarm: AlarmLatch;
  private readonly faultAlarm: AlarmLatch;
  private readonly drivers = new Map<string, WarningOutputDriver>();
  private pending: { dir: 1 | -1; since: number } | undefined;
  private badCount = 0;
  private badSince: number | undefined;
  private frozen: { ref: number; since: number } | undefined;
  private lastSeen: number;
  private staleTimer: TimerHandle | undefined;
  private riseRaisedAt: number | undefined;
  private running = false;

  constructor(
    private readonly cfg: FloodStationRule,
    private readonly ctx: RuleContext,
    private readonly out: RuleOutput,
    private readonly writer: OutputWriter,
  ) {
    this.stateId = `flood/${cfg.id}`;
    this.inputs = [pointKey(cfg.sensor.dev, cfg.sensor.pt)];
    this.thresholds = [cfg.levels.bd1, cfg.levels.bd2, cfg.levels.bd3];
    const saved = ctx.store.get<FloodState>(this.stateId);
    this.state = saved ?? { level: 0, levelAlarm: { raised: false }, rise: { raised: false }, fault: { raised: false }, history: [] };
    const emit = (e: GatewayEvent) => out.event(e);
    this.levelAlarm = new AlarmLatch(`flood.level/${cfg.id}`, emit, this.state.levelAlarm);
    this.riseAlarm = new AlarmLatch(`flood.rise/${cfg.id}`, emit, this.state.rise);
    this.faultAlarm = new AlarmLatch(`sensor.fault/${cfg.sensor.dev}`, emit, this.state.fault);
    this.riseRaisedAt = this.state.rise.raised ? this.state.rise.since : undefined;
    this.lastSeen = ctx.clock.now();
  }

  /** Level in force, 0..3 (for tests and status). */
  get level(): number {
    return this.state.level;
  }

  start(): void {
    this.running = true;
    this.lastSeen = this.ctx.clock.now();
    this.armStaleTimer();
    // After a restart a raised, unacknowledged level sounds again: the siren is latched.
    this.driveOutputs();
  }

  stop(): void {
    this.running = false;
    if (this.staleTimer) this.ctx.scheduler.cancel(this.staleTimer);
    this.staleTimer = undefined;
    for (const d of this.drivers.values()) d.halt();
  }

  onReading(r: Reading): void {
    this.lastSeen = Math.max(this.lastSeen, r.ts);
    const u = { dev: this.cfg.id, ts: r.ts };
    if (r.q !== 'good' || typeof r.v !== 'number' || !Number.isFinite(r.v)) {
      this.badCount++;
      this.badSince ??= r.ts;
      this.out.reading({ ...u, pt: 'stage', v: null, q: 'bad', u: 'm', err: r.err ?? 'EDGE_RULE_INPUT_BAD' });
      const f = this.cfg.fault;
      if (this.badCount >= f.badReadings || r.ts - this.badSince >= f.badForMs) this.raiseFault(r.ts, 'bad_quality', `${this.badCount} bad readings (${r.err ?? 'no value'})`);
      this.out.reading({ ...u, pt: 'alarm_level', v: this.state.level, q: 'good' });
      return;
    }
    this.badCount = 0;
    this.badSince = undefined;
    const stage = stageFrom(this.cfg.kind, r.v, this.cfg.datum, this.cfg.sensorHeight);
    this.out.reading({ ...u, pt: 'stage', v: round(stage, 4), q: 'good', u: 'm' });

    const f = this.cfg.fault;
    if (!this.frozen || Math.abs(stage - this.frozen.ref) > f.frozenToleranceM) this.frozen = { ref: stage, since: r.ts };
    else if (f.frozenForMs > 0 && r.ts - this.frozen.since >= f.frozenForMs) {
      this.raiseFault(r.ts, 'frozen', `value unchanged (within ${f.frozenToleranceM} m) for ${Math.round((r.ts - this.frozen.since) / MINUTE)} min`);
      this.out.reading({ ...u, pt: 'alarm_level', v: this.state.level, q: 'good' });
      return;
    }
    if (this.faultAlarm.raised) {
      this.faultAlarm.clear(r.ts, { dev: this.cfg.sensor.dev, message: `${this.cfg.sensor.dev}: good readings again (station ${this.cfg.id}, stage ${stage.toFixed(2)} m)` });
      this.state.fault = this.faultAlarm.snapshot();
      this.save();
    }
    this.record(r.ts, stage);
    this.evaluateLevel(r.ts, stage);
    this.evaluateRise(r.ts, stage);
    this.out.reading({ ...u, pt: 'alarm_level', v: this.state.level, q: 'good' });
  }

  onEvent(e: GatewayEvent): void {
    if (e.type === EventType.deviceOffline && e.dev === this.cfg.sensor.dev) this.raiseFault(e.ts, 'offline', `device ${e.dev} is offline`);
  }

  acknowledge(key: string, actor: string): RuleCommandResult | undefined {
    const ts = this.ctx.clock.now();
    if (key === this.levelAlarm.key) {
      if (this.state.level === 0) return { ok: false, code: CommandError.unknownTarget, message: `${key} is not raised` };
      this.state.silencedAt = this.state.level;
      this.levelAlarm.acknowledge();
      return this.acked(key, actor, ts, LEVEL_NAMES[this.state.level]);
    }
    if (key === this.riseAlarm.key) {
      if (!this.riseAlarm.raised) return { ok: false, code: CommandError.unknownTarget, message: `${key} is not raised` };
      this.state.riseSilenced = true;
      this.riseAlarm.acknowledge();
      return this.acked(key, actor, ts, undefined);
    }
    if (key === this.faultAlarm.key && this.faultAlarm.raised) {
      this.faultAlarm.acknowledge();
      return this.acked(key, actor, ts, this.faultAlarm.level);
    }
    return undefined;
  }

  private acked(key: string, actor: string, ts: number, level: string | undefined): RuleCommandResult {
    const before = [...this.drivers.values()].filter((d) => d.running).length;
    this.driveOutputs();
    this.save();
    const silenced = before - [...this.drivers.values()].filter((d) => d.running).length;
    this.out.event({ type: ALARM_ACKNOWLEDGED, ts, severity: 'info', message: `${key} acknowledged by ${actor}${silenced ? `; ${silenced} warning output(s) silenced` : ''}`, data: { key, actor, ...(level && { level }), silenced } });
    return { ok: true, result: { key, ...(level && { level }), silenced } };
  }

  private raiseFault(ts: number, cause: FaultCause, why: string): void {
    this.pending = undefined;
    const changed = this.faultAlarm.raise(ts, {
      level: cause,
      severity: 'warning',
      dev: this.cfg.sensor.dev,
      message: `sensor ${this.cfg.sensor.dev}.${this.cfg.sensor.pt} of station ${this.cfg.id} failed: ${why}; flood level held at ${LEVEL_NAMES[this.state.level] || 'normal'}`,
      data: { station: this.cfg.id, cause, heldLevel: this.state.level },
    });
    if (changed) {
      this.state.fault = this.faultAlarm.snapshot();
      this.save();
    }
  }

  private evaluateLevel(ts: number, stage: number): void {
    const target = targetLevel(stage, this.state.level, this.thresholds, this.cfg.hysteresis);
    if (target === this.state.level) {
      this.pending = undefined;
      return;
    }
    const dir = target > this.state.level ? 1 : -1;
    if (!this.pending || this.pending.dir !== dir) this.pending = { dir, since: ts };
    const delay = dir > 0 ? this.cfg.onDelayMs : this.cfg.offDelayMs;
    if (ts - this.pending.since < delay) return;
    this.pending = undefined;
    this.setLevel(ts, target, stage);
  }

  private setLevel(ts: number, level: number, stage: number): void {
    const prev = this.state.level;
    this.state.level = level;
    const data = { station: this.cfg.id, stage: round(stage, 3), thresholds: { bd1: this.thresholds[0], bd2: this.thresholds[1], bd3: this.thresholds[2] }, ...(this.cfg.levels.ref && { ref: this.cfg.levels.ref }) };
    const where = this.cfg.name ?? this.cfg.id;
    if (level === 0) {
      this.levelAlarm.clear(ts, { message: `${where}: stage ${stage.toFixed(2)} m, below flood alarm levels`, data });
      this.state.silencedAt = undefined;
    } else {
      // Rising above the acknowledged level re-arms the warning.
      if (this.state.silencedAt !== undefined && level > this.state.silencedAt) this.state.silencedAt = undefined;
      const name = LEVEL_NAMES[level] ?? '';
      this.levelAlarm.raise(ts, { level: name, severity: level === 3 ? 'critical' : 'alarm', message: `${where}: stage ${stage.toFixed(2)} m, flood alarm ${name.replace('_', ' ')} (${level > prev ? 'rising' : 'falling'})`, data });
    }
    this.state.levelAlarm = this.levelAlarm.snapshot();
    this.driveOutputs();
    this.save();
  }

  private record(ts: number, stage: number): void {
    const rr = this.cfg.rateOfRise;
    if (!rr) return;
    const h = this.state.history;
    const last = h[h.length - 1];
    if (last && Math.floor(last[0] / MINUTE) === Math.floor(ts / MINUTE)) return;
    h.push([ts, round(stage, 4)]);
    const keepFrom = ts - rr.windowMs - 2 * MINUTE;
    while (h.length > 0 && (h[0]?.[0] ?? 0) < keepFrom) h.shift();
    this.save();
  }

  private evaluateRise(ts: number, stage: number): void {
    const rr = this.cfg.rateOfRise;
    if (!rr) return;
    let ref: [number, number] | undefined;
    for (const s of this.state.history) {
      if (s[0] <= ts - rr.windowMs) ref = s;
      else break;
    }
    if (!ref) return;
    const rise = stage - ref[1];
    this.out.reading({ dev: this.cfg.id, pt: 'rise', ts, v: round(rise, 4), q: 'good', u: 'm' });
    const holdOff = rr.holdOffMs ?? rr.windowMs / 2;
    const hyst = this.cfg.hysteresis;
    const where = this.cfg.name ?? this.cfg.id;
    if (!this.riseAlarm.raised) {
      if (stage >= rr.armAboveM && rise >= rr.riseM) {
        this.riseAlarm.raise(ts, { message: `${where}: rose ${rise.toFixed(2)} m in ${Math.round(rr.windowMs / MINUTE)} min (stage ${stage.toFixed(2)} m)`, data: { station: this.cfg.id, stage: round(stage, 3), rise: round(rise, 3), windowMs: rr.windowMs } });
        this.riseRaisedAt = ts;
        this.state.riseSilenced = false;
        this.afterRise();
      }
    } else if (ts - (this.riseRaisedAt ?? ts) >= holdOff && !(stage >= rr.armAboveM - hyst && rise >= rr.riseM - hyst)) {
      this.riseAlarm.clear(ts, { message: `${where}: rise ${rise.toFixed(2)} m in ${Math.round(rr.windowMs / MINUTE)} min, below the rate-of-rise alarm`, data: { station: this.cfg.id, rise: round(rise, 3) } });
      this.riseRaisedAt = undefined;
      this.state.riseSilenced = undefined;
      this.afterRise();
    }
  }

  private afterRise(): void {
    this.state.rise = this.riseAlarm.snapshot();
    this.driveOutputs();
    this.save();
  }

  /** Makes the outputs match the alarms: each point sounds the pattern of the highest active, unsilenced alarm. */
  private driveOutputs(): void {
    if (!this.running) return;
    const wanted = new Map<string, WarningOutput>();
    const level = this.state.level;
    const silenced = this.state.silencedAt !== undefined && level <= this.state.silencedAt;
    if (level > 0 && !silenced) for (const o of this.cfg.outputs[`bd${level}` as 'bd1']) wanted.set(pointKey(o.dev, o.pt), o);
    if (this.riseAlarm.raised && !this.state.riseSilenced) for (const o of this.cfg.outputs.rise) if (!wanted.has(pointKey(o.dev, o.pt))) wanted.set(pointKey(o.dev, o.pt), o);
    for (const [key, d] of this.drivers) if (!wanted.has(key)) d.stop();
    for (const [key, o] of wanted) {
      let d = this.drivers.get(key);
      if (!d) this.drivers.set(key, (d = new WarningOutputDriver(this.writer, this.ctx.scheduler, this.ctx.clock.now)));
      d.start(o);
    }
  }

  private armStaleTimer(): void {
    if (!this.running) return;
    const at = this.lastSeen + this.cfg.fault.staleAfterMs;
    this.staleTimer = this.ctx.scheduler.setTimer(at, () => {
      this.staleTimer = undefined;
      const now = this.ctx.clock.now();
      if (now - this.lastSeen >= this.cfg.fault.staleAfterMs) {
        this.raiseFault(now, 'no_data', `no reading for ${Math.round((now - this.lastSeen) / 1000)} s`);
        this.lastSeen = now; // check again one period later, not in a loop
      }
      this.armStaleTimer();
    });
  }

  private save(): void {
    this.ctx.store.set(this.stateId, this.state);
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
