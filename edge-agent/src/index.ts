export { Agent, type AgentOptions } from './agent.js';
export { loadGatewayConfigFile, resolveDocument, loadProfileDir } from './load-config.js';
export { LineScheduler, interFrameGapMs, type LineStats } from './poll/line-scheduler.js';
export type { ReadingSink, DeviceStats } from './poll/device-poller.js';
export { AGENT_VERSION } from './version.js';
export { Outbox } from './store/outbox.js';
export { Forwarder } from './forward/forwarder.js';
