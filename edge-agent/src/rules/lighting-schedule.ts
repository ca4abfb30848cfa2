import type { LightingGroupRule } from '@cityedge/contract';
import { sunDay } from './sun-clock.js';
import { dayDate, localDayNumber, zonedInstant } from './zoned-time.js';

const MINUTE = 60_000;

/** One night of a lighting group: on and off instants and the level changes between them. */
export interface NightPlan {
  on: number;
  off: number;
  /** Level changes from `on` (the first one), in time order, all before `off`. */
  changes: Array<{ at: number; level: number }>;
}

type Plan = Pick<LightingGroupRule, 'site' | 'onOffsetMin' | 'offOffsetMin' | 'onLevel' | 'steps'>;

/**
 * The night that starts on local day `day`: on at that day's sunset + onOffset, off at the next
 * day's sunrise - offOffset, and each dimming step at its first local occurrence after switch-on
 * (a step at 00:00 falls on the next calendar day), dropped when that is after switch-off.
 */
export function nightPlan(g: Plan, day: number): NightPlan | undefined {
  const tonight = sunDay(g.site, day);
  const tomorrow = sunDay(g.site, day + 1);
  let on: number;
  let off: number;
  if (tonight.sunset !== undefined && tomorrow.sunrise !== undefined) {
    on = tonight.sunset + g.onOffsetMin * MINUTE;
    off = tomorrow.sunrise - g.offOffsetMin * MINUTE;
  } else if (tonight.alwaysDown) {
    const d = dayDate(day);
    const n = dayDate(day + 1);
    on = zonedInstant(g.site.tz, d.year, d.month, d.day);
    off = zonedInstant(g.site.tz, n.year, n.month, n.day);
  } else return undefined;
  if (off <= on) return undefined;
  const changes = [{ at: on, level: g.onLevel }];
  for (const s of g.steps) {
    const [hh, mm] = s.at.split(':').map(Number) as [number, number];
    let at = onDay(g.site.tz, day, hh, mm);
    if (at <= on) at = onDay(g.site.tz, day + 1, hh, mm);
    if (at < off) changes.push({ at, level: s.level });
  }
  changes.sort((a, b) => a.at - b.at);
  return { on, off, changes };
}

function onDay(tz: string, day: number, hh: number, mm: number): number {
  const d = dayDate(day);
  return zonedInstant(tz, d.year, d.month, d.day, hh, mm);
}

/**
 * Plans by local day, computed once each (a few suncalc calls per day), so the level at any
 * instant and the next change are cheap to answer.
 */
export class LightingSchedule {
  private readonly plans = new Map<number, NightPlan | undefined>();

  constructor(private readonly g: Plan) {}

  night(day: number): NightPlan | undefined {
    if (!this.plans.has(day)) {
      if (this.plans.size > 8) this.plans.delete(this.plans.keys().next().value as number);
      this.plans.set(day, nightPlan(this.g, day));
    }
    return this.plans.get(day);
  }

  /** The scheduled level at t (0 by day) and when it next changes. */
  at(t: number): { level: number; nextChange: number } {
    const today = localDayNumber(this.g.site.tz, t);
    for (const day of [today - 1, today]) {
      const n = this.night(day);
      if (!n || t < n.on || t >= n.off) continue;
      let level = n.changes[0]?.level ?? this.g.onLevel;
      let next = n.off;
      for (const c of n.changes) {
        if (c.at <= t) level = c.level;
        else {
          next = c.at;
          break;
        }
      }
      return { level, nextChange: next };
    }
    for (const day of [today, today + 1, today + 2]) {
      const n = this.night(day);
      if (n && n.on > t) return { level: 0, nextChange: n.on };
    }
    return { level: 0, nextChange: t + 3_600_000 };
  }
}
