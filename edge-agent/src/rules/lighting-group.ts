import { ALARM_ACKNOWLEDGED, CommandError, type LightingGroupRule, type Reading } from '@cityedge/contract';
import { AlarmLatch, type AlarmSnapshot } from './alarm-latch.js';
import { LightingSchedule } from './lighting-schedule.js';
import type { OutputWriter } from './output-writer.js';
import { pointKey, type Rule, type RuleCommandResult, type RuleOutput } from './rule.js';
import type { RuleContext, TimerHandle } from './rule-context.js';

export interface LightingOverrideRequest {
  group: string;
  level: number;
  untilMs?: number | undefined;
  durationMs?: number | undefined;
}

interface Override {
  level: number;
  until: number;
  actor: string;
  since: number;
}

interface LightingState {
  override?: Override | undefined;
  lamps: Record<string, AlarmSnapshot>;
  power: AlarmSnapshot;
}

type LampCause = 'ballast_failure' | 'lamp_failure' | 'no_readback';
const CAUSE_ORDER: readonly LampCause[] = ['ballast_failure', 'lamp_failure', 'no_readback'];

interface Ballast {
  dev: string;
  alarm: AlarmLatch;
  causes: Set<LampCause>;
  actual?: { v: number; ts: number };
}

type Mode = 'schedule' | 'override' | 'dark';

/**
 * One lighting group: the astronomical clock with its dimming steps, the light-level override,
 * the technician override with its expiry; writes the level to the DALI broadcast points (or to
 * each ballast), checks that each ballast reads the level back, turns failure bits into alarms
 * naming the lamp, and checks the meter's power against the level.
 */
export class LightingGroup implements Rule {
  readonly stateId: string;
  readonly inputs: readonly string[];
  private readonly schedule: LightingSchedule;
  private state: LightingState;
  private readonly ballasts = new Map<string, Ballast>();
  private readonly powerAlarm: AlarmLatch;
  private commanded: number | undefined;
  private mode: Mode = 'schedule';
  private changedAt = 0;
  private writeFailed = false;
  private timer: TimerHandle | undefined;
  private readBackTimer: TimerHandle | undefined;
  private dark = false;
  private luxPending: { dark: boolean; since: number } | undefined;
  private running = false;

  constructor(
    private readonly cfg: LightingGroupRule,
    private readonly ctx: RuleContext,
    private readonly out: RuleOutput,
    private readonly writer: OutputWriter,
  ) {
    this.stateId = `lighting/${cfg.id}`;
    this.schedule = new LightingSchedule(cfg);
    this.state = ctx.store.get<LightingState>(this.stateId) ?? { lamps: {}, power: { raised: false } };
    const emit = out.event;
    const bp = cfg.ballastPoints;
    const inputs: string[] = [];
    for (const dev of cfg.ballasts) {
      const snap = this.state.lamps[dev];
      const causes = new Set<LampCause>(snap?.raised && snap.level ? (snap.level.split('+') as LampCause[]) : []);
      this.ballasts.set(dev, { dev, alarm: new AlarmLatch(`lamp.fault/${dev}`, emit, snap), causes });
      inputs.push(pointKey(dev, bp.actual), pointKey(dev, bp.lampFailure), pointKey(dev, bp.ballastFailure));
    }
    if (cfg.lightSensor) inputs.push(pointKey(cfg.lightSensor.dev, cfg.lightSensor.pt));
    if (cfg.power) inputs.push(pointKey(cfg.power.dev, cfg.power.pt));
    this.inputs = inputs;
    this.powerAlarm = new AlarmLatch(`lamp.power/${cfg.id}`, emit, this.state.power);
  }

  /** Level last commanded and why (for tests and status). */
  get status(): { level: number | undefined; mode: Mode; override?: Override | undefined } {
    return { level: this.commanded, mode: this.mode, override: this.state.override };
  }

  start(): void {
    this.running = true;
    this.commanded = undefined; // write the level once at start, whatever the lamps were left at
    this.evaluate();
  }

  stop(): void {
    this.running = false;
    for (const t of [this.timer, this.readBackTimer]) if (t) this.ctx.scheduler.cancel(t);
    this.timer = undefined;
    this.readBackTimer = undefined;
  }

  override(req: LightingOverrideRequest, actor: string): RuleCommandResult {
    const now = this.ctx.clock.now();
    const until = req.untilMs ?? now + (req.durationMs ?? 0);
    if (until <= now) return { ok: false, code: CommandError.badArgs, message: `untilMs ${new Date(until).toISOString()} is not in the future` };
    this.state.override = { level: req.level, until, actor, since: now };
    this.save();
    this.out.event({ type: 'lighting.override', ts: now, severity: 'info', message: `${this.cfg.name ?? this.cfg.id}: ${req.level} % set by ${actor} until ${new Date(until).toISOString()}`, data: { group: this.cfg.id, level: req.level, untilMs: until, actor } });
    this.evaluate();
    return { ok: true, result: { group: this.cfg.id, level: req.level, untilMs: until } };
  }

  acknowledge(key: string, actor: string): RuleCommandResult | undefined {
    const latch = key === this.powerAlarm.key ? this.powerAlarm : [...this.ballasts.values()].find((b) => b.alarm.key === key)?.alarm;
    if (!latch) return undefined;
    if (!latch.raised) return { ok: false, code: CommandError.unknownTarget, message: `${key} is not raised` };
    latch.acknowledge();
    this.save();
    this.out.event({ type: ALARM_ACKNOWLEDGED, ts: this.ctx.clock.now(), severity: 'info', message: `${key} acknowledged by ${actor}`, data: { key, actor, level: latch.level, silenced: 0 } });
    return { ok: true, result: { key, level: latch.level, silenced: 0 } };
  }

  onReading(r: Reading): void {
    const bp = this.cfg.ballastPoints;
    const b = this.ballasts.get(r.dev);
    if (b && r.q === 'good') {
      if (r.pt === bp.actual && typeof r.v === 'number') {
        b.actual = { v: r.v, ts: r.ts };
        if (this.commanded !== undefined && Math.abs(r.v - this.commanded) <= this.cfg.readBack.tolerance) this.setCause(b, 'no_readback', false, r.ts);
      } else if (r.pt === bp.lampFailure) this.setCause(b, 'lamp_failure', r.v === true || r.v === 1, r.ts);
      else if (r.pt === bp.ballastFailure) this.setCause(b, 'ballast_failure', r.v === true || r.v === 1, r.ts);
    }
    const ls = this.cfg.lightSensor;
    if (ls && r.dev === ls.dev && r.pt === ls.pt && r.q === 'good' && typeof r.v === 'number') this.onLux(r.v, r.ts);
    const pw = this.cfg.power;
    if (pw && r.dev === pw.dev && r.pt === pw.pt && r.q === 'good' && typeof r.v === 'number') this.checkPower(r.v, r.ts);
  }

  /** Light level with hysteresis and a delay: dark below onBelowLux, light again above offAboveLux. */
  private onLux(lux: number, ts: number): void {
    const ls = this.cfg.lightSensor;
    if (!ls) return;
    const wants = this.dark ? !(lux > ls.offAboveLux) : lux < ls.onBelowLux;
    if (wants === this.dark) {
      this.luxPending = undefined;
      return;
    }
    if (!this.luxPending || this.luxPending.dark !== wants) this.luxPending = { dark: wants, since: ts };
    if (ts - this.luxPending.since < ls.delayMs) return;
    this.luxPending = undefined;
    this.dark = wants;
    this.evaluate();
  }

  /** Works out the level wanted now, writes it when it changed, and sets the timer for the next change. */
  private evaluate(): void {
    if (!this.running) return;
    const now = this.ctx.clock.now();
    if (this.timer) this.ctx.scheduler.cancel(this.timer);
    this.timer = undefined;
    let ov = this.state.override;
    if (ov && ov.until <= now) {
      this.out.event({ type: 'lighting.override_ended', ts: now, severity: 'info', message: `${this.cfg.name ?? this.cfg.id}: override by ${ov.actor} ended; schedule resumes`, data: { group: this.cfg.id, level: ov.level, actor: ov.actor } });
      this.state.override = ov = undefined;
      this.save();
    }
    const sched = this.schedule.at(now);
    let level = sched.level;
    let mode: Mode = 'schedule';
    if (this.dark && level === 0) {
      level = this.cfg.onLevel;
      mode = 'dark';
    }
    if (ov) {
      level = ov.level;
      mode = 'override';
    }
    this.mode = mode;
    if (level !== this.commanded || this.writeFailed) this.apply(level, now);
    const next = Math.min(sched.nextChange, ov ? ov.until : Infinity, this.writeFailed ? now + this.cfg.retryMs : Infinity);
    this.timer = this.ctx.scheduler.setTimer(next, () => {
      this.timer = undefined;
      this.evaluate();
    });
  }

  private apply(level: number, now: number): void {
    const changed = level !== this.commanded;
    this.commanded = level;
    if (changed) this.changedAt = now;
    this.writeFailed = false;
    const writes: Array<Promise<boolean>> = [];
    if (this.cfg.broadcast.length > 0) for (const p of this.cfg.broadcast) writes.push(this.writer.write(p.dev, p.pt, level));
    else for (const b of this.ballasts.values()) writes.push(this.writer.write(b.dev, this.cfg.ballastPoints.setpoint, level));
    void Promise.all(writes).then((oks) => {
      if (oks.every(Boolean) || this.commanded !== level) return;
      // Try again at the retry time (evaluate() sees writeFailed and sets its timer for it).
      this.writeFailed = true;
      if (this.timer) this.ctx.scheduler.cancel(this.timer);
      this.timer = this.ctx.scheduler.setTimer(this.ctx.clock.now() + this.cfg.retryMs, () => {
        this.timer = undefined;
        this.evaluate();
      });
    });
    this.out.reading({ dev: this.cfg.id, pt: 'lamp_level', ts: now, v: level, q: 'good', u: '%' });
    this.out.reading({ dev: this.cfg.id, pt: 'lamp_mode', ts: now, v: this.mode, q: 'good' });
    if (this.ballasts.size > 0) {
      if (this.readBackTimer) this.ctx.scheduler.cancel(this.readBackTimer);
      const writtenAt = now;
      this.readBackTimer = this.ctx.scheduler.setTimer(now + this.cfg.readBack.windowMs, () => {
        this.readBackTimer = undefined;
        this.checkReadBack(writtenAt);
      });
    }
  }

  /** Each working ballast must have reported the commanded level since the write. */
  private checkReadBack(writtenAt: number): void {
    const now = this.ctx.clock.now();
    const level = this.commanded ?? 0;
    for (const b of this.ballasts.values()) {
      if (b.causes.has('lamp_failure') || b.causes.has('ballast_failure')) continue;
      const ok = b.actual !== undefined && b.actual.ts >= writtenAt && Math.abs(b.actual.v - level) <= this.cfg.readBack.tolerance;
      this.setCause(b, 'no_readback', !ok, now, b.actual && b.actual.ts >= writtenAt ? `reads ${b.actual.v} %` : 'no reading since the write');
    }
  }

  private setCause(b: Ballast, cause: LampCause, on: boolean, ts: number, detail?: string): void {
    if (b.causes.has(cause) === on) return;
    if (on) b.causes.add(cause);
    else b.causes.delete(cause);
    const causes = CAUSE_ORDER.filter((c) => b.causes.has(c));
    const where = this.cfg.name ?? this.cfg.id;
    if (causes.length === 0) b.alarm.clear(ts, { dev: b.dev, message: `lamp ${b.dev} (${where}) works again`, data: { group: this.cfg.id } });
    else {
      const text = causes.map((c) => (c === 'no_readback' ? `does not read back ${this.commanded ?? 0} %${detail ? ` (${detail})` : ''}` : c.replace('_', ' '))).join(', ');
      b.alarm.raise(ts, { dev: b.dev, level: causes.join('+'), severity: 'warning', message: `lamp ${b.dev} (${where}): ${text}`, data: { group: this.cfg.id, causes, commanded: this.commanded } });
    }
    this.save();
  }

  /** The meter's power against the band the commanded level and the working lamps allow. */
  private checkPower(watts: number, ts: number): void {
    const pw = this.cfg.power;
    if (!pw || this.commanded === undefined || ts - this.changedAt < pw.settleMs) return;
    const lamps = this.ballasts.size === 0 ? 1 : [...this.ballasts.values()].filter((b) => !b.causes.has('lamp_failure') && !b.causes.has('ballast_failure')).length;
    const expected = pw.standbyWatts + (pw.lampWatts * lamps * this.commanded) / 100;
    const band = Math.max((pw.tolerancePct / 100) * expected, pw.toleranceWatts);
    const where = this.cfg.name ?? this.cfg.id;
    const data = { group: this.cfg.id, watts: round1(watts), expected: round1(expected), band: round1(band), level: this.commanded };
    let changed: boolean;
    if (Math.abs(watts - expected) <= band) changed = this.powerAlarm.clear(ts, { message: `${where}: power ${round1(watts)} W matches ${this.commanded} %`, data });
    else {
      const side = watts < expected ? 'low' : 'high';
      changed = this.powerAlarm.raise(ts, { level: side, severity: 'warning', dev: pw.dev, message: `${where}: meter reads ${round1(watts)} W at ${this.commanded} %, expected ${round1(expected)} ± ${round1(band)} W: lamps did not follow`, data });
    }
    if (changed) this.save();
  }

  private save(): void {
    const lamps: Record<string, AlarmSnapshot> = {};
    for (const b of this.ballasts.values()) if (b.alarm.raised) lamps[b.dev] = b.alarm.snapshot();
    this.state.lamps = lamps;
    this.state.power = this.powerAlarm.snapshot();
    this.ctx.store.set(this.stateId, this.state);
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
