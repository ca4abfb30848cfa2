import type { EdgeErrorCode } from '@cityedge/contract';
import type { GatewayEvent, Reading } from '@cityedge/contract';

/** What a command handler gets back from the engine: a result, or a coded refusal. */
export type RuleCommandResult<T = Record<string, unknown>> = { ok: true; result: T } | { ok: false; code: EdgeErrorCode; message: string };

/** What every rule offers the engine. */
export interface Rule {
  /** Rule id in the state store, e.g. `flood/dongha`. */
  readonly stateId: string;
  /** Points (`dev/pt`) whose readings the rule wants. */
  readonly inputs: readonly string[];
  onReading(r: Reading): void;
  onEvent?(e: GatewayEvent): void;
  start(): void;
  /** Cancels timers; writes nothing (outputs are driven again by the next start). */
  stop(): void;
  /** Acknowledges one of the rule's alarms; undefined when the key is not the rule's. */
  acknowledge?(key: string, actor: string): RuleCommandResult | undefined;
}

/** Where rules put what they produce; the engine batches readings per call. */
export interface RuleOutput {
  reading(r: Reading): void;
  event(e: GatewayEvent): void;
}

export const pointKey = (dev: string, pt: string) => `${dev}/${pt}`;
