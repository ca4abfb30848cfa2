import { ALARM_ACKNOWLEDGED, AQI_POLLUTANTS, CommandError, type AqiPollutant, type AqiStationRule, type Reading } from '@cityedge/contract';
import { dailyAqi, dailyInputs, hourlyAqi, type HourSeries } from './aqi-index.js';
import { AlarmLatch, type AlarmSnapshot } from './alarm-latch.js';
import { pointKey, type Rule, type RuleCommandResult, type RuleOutput } from './rule.js';
import type { RuleContext, TimerHandle } from './rule-context.js';
import { categoryIndex, toUgM3, vnCategory } from './vn-aqi.js';
import { dayDate, dayLabel, localDayNumber, localHourStart, localParts, zonedInstant } from './zoned-time.js';

const HOUR = 3_600_000;
const SLOT = 300_000;
/** Hourly means kept: 12 for NowCast, 24 + 7 for the daily AQI and its 8-hour O3 means, and slack. */
const KEEP_HOURS = 40;

interface Accumulator {
  /** Start of the hour (ms). */
  hour: number;
  sum: number;
  n: number;
  /** Bit i set: the i-th 5-minute slot of the hour has a good reading. */
  slots: number;
}

interface AqiState {
  /** Hourly means (ug/m3) by pollutant: [hour start, mean], oldest first; hours without enough data are absent. */
  hours: Partial<Record<AqiPollutant, Array<[number, number]>>>;
  acc: Partial<Record<AqiPollutant, Accumulator>>;
  alarm: AlarmSnapshot;
  /** Hours before this were published: readings for them arrive too late and are dropped. */
  closedBefore?: number;
}

/**
 * One air-quality station: hourly means with their coverage rule, the hourly VN_AQI (NowCast
 * for PM, 1-hour gases) and the US EPA AQI published at each local hour's end, the daily AQI at
 * each local day's end, and the category alarm. Means and the alarm survive a restart.
 */
export class AqiStation implements Rule {
  readonly stateId: string;
  readonly inputs: readonly string[];
  private readonly byInput = new Map<string, AqiPollutant>();
  private state: AqiState;
  private readonly alarm: AlarmLatch;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly cfg: AqiStationRule,
    private readonly ctx: RuleContext,
    private readonly out: RuleOutput,
  ) {
    this.stateId = `aqi/${cfg.id}`;
    for (const p of AQI_POLLUTANTS) {
      const ref = cfg.pollutants[p];
      if (ref) this.byInput.set(pointKey(ref.dev, ref.pt), p);
    }
    this.inputs = [...this.byInput.keys()];
    this.state = ctx.store.get<AqiState>(this.stateId) ?? { hours: {}, acc: {}, alarm: { raised: false } };
    this.alarm = new AlarmLatch(`aqi.category/${cfg.id}`, (e) => out.event(e), this.state.alarm);
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    if (this.timer) this.ctx.scheduler.cancel(this.timer);
    this.timer = undefined;
  }

  onReading(r: Reading): void {
    const p = this.byInput.get(pointKey(r.dev, r.pt));
    if (!p || r.q !== 'good' || typeof r.v !== 'number' || !Number.isFinite(r.v) || r.ts < (this.state.closedBefore ?? 0)) return;
    const c = toUgM3(p, Math.max(0, r.v), r.u ?? this.cfg.pollutants[p]?.unit);
    if (c === undefined) return;
    let acc = this.state.acc[p];
    if (!acc || r.ts < acc.hour || r.ts >= acc.hour + HOUR) {
      const hour = localHourStart(this.cfg.tz, r.ts);
      if (acc && hour < acc.hour) return; // late for an hour already closed
      if (acc) this.close(p, acc);
      acc = { hour, sum: 0, n: 0, slots: 0 };
      this.state.acc[p] = acc;
    }
    acc.sum += c;
    acc.n++;
    const bit = 1 << Math.min(11, Math.floor((r.ts - acc.hour) / SLOT));
    if ((acc.slots & bit) === 0) {
      acc.slots |= bit;
      this.save(); // at most twelve writes per pollutant and hour
    }
  }

  acknowledge(key: string, actor: string): RuleCommandResult | undefined {
    if (key !== this.alarm.key) return undefined;
    if (!this.alarm.raised) return { ok: false, code: CommandError.unknownTarget, message: `${key} is not raised` };
    this.alarm.acknowledge();
    this.state.alarm = this.alarm.snapshot();
    this.save();
    this.out.event({ type: ALARM_ACKNOWLEDGED, ts: this.ctx.clock.now(), severity: 'info', message: `${key} acknowledged by ${actor}`, data: { key, actor, level: this.alarm.level, silenced: 0 } });
    return { ok: true, result: { key, level: this.alarm.level, silenced: 0 } };
  }

  /** Moves a finished hour's accumulator into the hourly means when it has enough 5-minute slots. */
  private close(p: AqiPollutant, acc: Accumulator): void {
    delete this.state.acc[p];
    const slots = popcount(acc.slots);
    if (slots < this.cfg.minSlotsPerHour || acc.n === 0) return;
    const list = (this.state.hours[p] ??= []);
    list.push([acc.hour, acc.sum / acc.n]);
    while (list.length > 0 && (list[0]?.[0] ?? 0) < acc.hour - KEEP_HOURS * HOUR) list.shift();
  }

  private schedule(): void {
    const now = this.ctx.clock.now();
    const hourEnd = localHourStart(this.cfg.tz, now - this.cfg.graceMs) + HOUR;
    this.timer = this.ctx.scheduler.setTimer(hourEnd + this.cfg.graceMs, () => {
      this.timer = undefined;
      this.endOfHour(hourEnd);
      this.schedule();
    });
  }

  /** Publishes the hour that ended at hourEnd and, after a local day's last hour, the day. */
  endOfHour(hourEnd: number): void {
    for (const p of AQI_POLLUTANTS) {
      const acc = this.state.acc[p];
      if (acc && acc.hour < hourEnd) this.close(p, acc);
    }
    this.state.closedBefore = Math.max(this.state.closedBefore ?? 0, hourEnd);
    const h1 = hourEnd - HOUR;
    const series: Partial<Record<AqiPollutant, HourSeries>> = {};
    for (const p of AQI_POLLUTANTS) if (this.cfg.pollutants[p]) series[p] = Array.from({ length: 12 }, (_, i) => this.mean(p, h1 - i * HOUR));
    const h = hourlyAqi(series);
    const base = { dev: this.cfg.id, ts: hourEnd };
    const rd: Reading[] = [];
    for (const [p, v] of Object.entries(h.nowCast)) rd.push({ ...base, pt: `nowcast_${p}`, v: round1(v), q: 'good', u: 'ug/m3' });
    for (const p of ['o3', 'no2', 'so2', 'co'] as const) {
      const c1 = series[p]?.[0];
      if (c1 !== undefined) rd.push({ ...base, pt: `${p}_1h`, v: round1(c1), q: 'good', u: 'ug/m3' });
    }
    for (const [p, v] of Object.entries(h.subIndices)) rd.push({ ...base, pt: `vn_aqi_${p}`, v, q: 'good' });
    if (h.aqi === undefined) {
      rd.push({ ...base, pt: 'vn_aqi', v: null, q: 'bad', err: 'EDGE_RULE_AQI_COVERAGE' });
    } else {
      const cat = vnCategory(h.aqi);
      rd.push({ ...base, pt: 'vn_aqi', v: h.aqi, q: 'good' }, { ...base, pt: 'vn_aqi_category', v: cat.category, q: 'good' }, { ...base, pt: 'vn_aqi_color', v: cat.color, q: 'good' });
      this.evaluateAlarm(hourEnd, h.aqi);
    }
    if (this.cfg.epa && h.epa !== undefined) rd.push({ ...base, pt: 'epa_aqi', v: h.epa, q: 'good' });
    const endParts = localParts(this.cfg.tz, hourEnd);
    if (endParts.hour === 0 && endParts.minute === 0) this.endOfDay(localDayNumber(this.cfg.tz, h1), hourEnd, rd);
    for (const r of rd) this.out.reading(r);
    this.save();
  }

  private endOfDay(day: number, ts: number, rd: Reading[]): void {
    const d = dayDate(day);
    const start = zonedInstant(this.cfg.tz, d.year, d.month, d.day);
    const hours: number[] = [];
    for (let t = start; t < ts; t += HOUR) hours.push(t);
    const perDay: Partial<Record<AqiPollutant, HourSeries>> = {};
    for (const p of AQI_POLLUTANTS) if (this.cfg.pollutants[p]) perDay[p] = hours.map((t) => this.mean(p, t));
    const o3Before = this.cfg.pollutants.o3 ? Array.from({ length: 7 }, (_, i) => this.mean('o3', start - (7 - i) * HOUR)) : [];
    const daily = dailyAqi(dailyInputs(perDay, o3Before, this.cfg.minHoursPerDay));
    const base = { dev: this.cfg.id, ts };
    if (daily.aqi === undefined) {
      rd.push({ ...base, pt: 'vn_aqi_daily', v: null, q: 'bad', err: 'EDGE_RULE_AQI_COVERAGE' });
    } else {
      rd.push({ ...base, pt: 'vn_aqi_daily', v: daily.aqi, q: 'good' }, { ...base, pt: 'vn_aqi_daily_category', v: vnCategory(daily.aqi).category, q: 'good' });
    }
    if (this.cfg.epa && daily.epa !== undefined) rd.push({ ...base, pt: 'epa_aqi_daily', v: daily.epa, q: 'good' });
    this.ctx.logger.debug({ station: this.cfg.id, day: dayLabel(day), daily }, 'daily AQI');
  }

  private evaluateAlarm(ts: number, aqi: number): void {
    if (!this.cfg.alarmAt) return;
    const cat = vnCategory(aqi);
    const where = this.cfg.name ?? this.cfg.id;
    if (cat.index >= categoryIndex(this.cfg.alarmAt)) {
      this.alarm.raise(ts, { level: cat.category, severity: cat.index >= 5 ? 'critical' : 'alarm', message: `${where}: VN_AQI ${aqi} (${cat.name})`, data: { station: this.cfg.id, aqi, category: cat.category, color: cat.color } });
    } else {
      this.alarm.clear(ts, { message: `${where}: VN_AQI ${aqi} (${cat.name}), below ${this.cfg.alarmAt}`, data: { station: this.cfg.id, aqi, category: cat.category } });
    }
    this.state.alarm = this.alarm.snapshot();
  }

  private mean(p: AqiPollutant, hourStart: number): number | undefined {
    const list = this.state.hours[p];
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i];
      if (!e) continue;
      if (e[0] === hourStart) return e[1];
      if (e[0] < hourStart) return undefined;
    }
    return undefined;
  }

  private save(): void {
    this.ctx.store.set(this.stateId, this.state);
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
