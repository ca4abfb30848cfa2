import type { GatewayEvent, Reading } from '@cityedge/contract';
import type { Logger } from 'pino';

/**
 * What the agent's runtime gives the rule engine. Everything a rule does to the world goes
 * through here: derived readings and alarm events to the reading bus (and so the durable
 * outbox), writes to the device directory, time from the clock and timers from the scheduler
 * (fake ones in tests), durable state to the store.
 */
export interface RuleContext {
  clock: { now(): number };
  scheduler: RuleScheduler;
  emit: RuleEmitter;
  /** Writes a point through the device directory; rejects with a coded error (err.code) when it fails. */
  write(dev: string, pt: string, value: number | boolean): Promise<void>;
  store: RuleStateStore;
  logger: Logger;
}

export interface RuleEmitter {
  /** Derived readings (stage, VN_AQI, lamp level): to the bus, like any source's readings. */
  readings(readings: Reading[]): void;
  /** Alarm and notice events: to the bus, and so to the outbox's events stream. */
  event(event: GatewayEvent): void;
}

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface RuleScheduler {
  /** Runs fn once at (or as soon as possible after) the clock reads atMs. */
  setTimer(atMs: number, fn: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
}

/** Small JSON documents per rule id, kept across restarts (alarm state, hourly means, overrides). */
export interface RuleStateStore {
  get<T = unknown>(ruleId: string): T | undefined;
  /** Replaces the rule's document; durable when it returns. */
  set(ruleId: string, state: unknown): void;
  delete(ruleId: string): void;
  /** Rule ids with a document, e.g. to forget rules removed from the configuration. */
  ids(): string[];
}

/**
 * The scheduler of the running agent: setTimeout against the injected clock, which runs `scale`
 * clock ms per real ms (1 but for a demo's fast clock).
 */
export function timeoutScheduler(clock: { now(): number }, scale = 1): RuleScheduler {
  const MAX_DELAY = 2 ** 31 - 1;
  return {
    setTimer(atMs, fn) {
      const h: { t?: NodeJS.Timeout } = {};
      const arm = () => {
        const delay = Math.ceil((atMs - clock.now()) / scale);
        // setTimeout cannot wait longer than ~24.8 days; re-arm until it is time.
        h.t = delay > MAX_DELAY ? setTimeout(arm, MAX_DELAY) : setTimeout(fn, Math.max(0, delay));
        h.t.unref?.();
      };
      arm();
      return h;
    },
    cancel(handle) {
      const t = (handle as { t?: NodeJS.Timeout }).t;
      if (t) clearTimeout(t);
    },
  };
}
