export { RuleEngine, type RuleEngineStats } from './rule-engine.js';
export { timeoutScheduler, type RuleContext, type RuleEmitter, type RuleScheduler, type RuleStateStore, type TimerHandle } from './rule-context.js';
export { SqliteRuleStateStore, MemoryRuleStateStore } from './sqlite-state-store.js';
export type { RuleCommandResult } from './rule.js';
export type { LightingOverrideRequest } from './lighting-group.js';
