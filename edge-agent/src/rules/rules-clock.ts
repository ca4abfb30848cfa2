import type { GatewayEvent, Reading } from '@cityedge/contract';

/**
 * A clock for the rules that runs `scale` times faster than the agent's from an anchor (the
 * demo's: a simulated day in minutes, so lamps follow the astronomical clock while one watches).
 * The rules then see every reading and event at its time on that clock, and what they produce
 * is put back on the agent's clock, so everything leaving the gateway keeps one time base.
 */
export interface FastRulesClock {
  /** Agent time (ms) of the anchor. */
  anchorAgent: number;
  /** Rules time (ms) at the anchor, e.g. a simulation's start. */
  anchorRules: number;
  /** Rules ms per agent ms (> 0). */
  scale: number;
}

/** Time conversions between the agent's clock and the rules' (the identity without a fast clock). */
export interface RulesTime {
  scale: number;
  toRules(ts: number): number;
  toAgent(ts: number): number;
  readingsToRules(rs: readonly Reading[]): readonly Reading[];
  readingsToAgent(rs: Reading[]): Reading[];
  eventToRules(e: GatewayEvent): GatewayEvent;
  eventToAgent(e: GatewayEvent): GatewayEvent;
}

export function rulesTime(fast: FastRulesClock | undefined): RulesTime {
  if (!fast) {
    const same = <T>(x: T) => x;
    return { scale: 1, toRules: same, toAgent: same, readingsToRules: same, readingsToAgent: same, eventToRules: same, eventToAgent: same };
  }
  const { anchorAgent, anchorRules, scale } = fast;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`rules clock scale must be a positive number, got ${scale}`);
  const toRules = (ts: number) => Math.round(anchorRules + (ts - anchorAgent) * scale);
  const toAgent = (ts: number) => Math.round(anchorAgent + (ts - anchorRules) / scale);
  return {
    scale,
    toRules,
    toAgent,
    readingsToRules: (rs) => rs.map((r) => ({ ...r, ts: toRules(r.ts) })),
    readingsToAgent: (rs) => rs.map((r) => ({ ...r, ts: toAgent(r.ts) })),
    eventToRules: (e) => ({ ...e, ts: toRules(e.ts) }),
    eventToAgent: (e) => ({ ...e, ts: toAgent(e.ts) }),
  };
}
