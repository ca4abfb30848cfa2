export { Agent, type AgentOptions } from './agent.js';
export { loadGatewayConfigFile, resolveDocument, loadProfileDir } from './load-config.js';
export { LineScheduler, interFrameGapMs, type LineStats } from './poll/line-scheduler.js';
export type { ReadingSink, DeviceStats } from './poll/device-poller.js';
export { AGENT_VERSION } from './version.js';
export { Outbox, type OutboxStats, type OutboxOptions, type Batch } from './store/outbox.js';
export { OutboxError } from './store/outbox-errors.js';
export { Forwarder, type ForwarderStats, type ForwarderOptions } from './forward/forwarder.js';
export { ForwarderError } from './forward/connection-secrets.js';
