import type { Logger } from 'pino';
import { ForwardingConfig } from '@cityedge/contract';
import { AGENT_VERSION, MqttSession, OutboxDrain, type Outbox } from '@cityedge/edge-agent';
import type { BrokerHandle } from './children.js';
import { freshOutbox } from './outbox-append.js';
import { CpuMeter } from './proc-stats.js';
import { pollGroups } from './readings.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

export const DRAIN_TARGET = 100_000;

export interface DrainOptions {
  logger: Logger;
  broker: BrokerHandle;
  ticksPerSecond: number;
  /** Readings in the backlog before the forwarder starts. */
  backlog?: number;
  timeoutMs?: number;
  /** Whether the figure is compared with the target (the aedes row is; extra brokers are informational). */
  withTarget: boolean;
}

/** Fills a fresh outbox with `n` committed readings, as after an outage. */
async function prefill(outbox: Outbox, n: number): Promise<number> {
  const t0 = performance.now();
  for (const g of pollGroups(n, 5000, 50, Date.now() - 3_600_000)) outbox.appendReadings(g);
  outbox.flush();
  return (performance.now() - t0) / 1000;
}

/**
 * A backlog drained by the agent's Forwarder with the default forwarding settings (500 readings
 * per message, 16 in flight) to a broker in another process; the time runs from start() until
 * the outbox backlog is 0, i.e. every reading acknowledged (PUBACK) and deleted (committed).
 */
export async function benchBacklogDrain(scope: Scope, opts: DrainOptions): Promise<Row[]> {
  const section = `2. backlog drain to ${opts.broker.kind} (separate process), QoS 1, default forwarding config`;
  const n = opts.backlog ?? 500_000;
  const s = scope.child();
  try {
    const outbox = freshOutbox(s.tempDir('cityedge-bench-drain-'), opts.logger);
    outbox.start();
    s.defer(() => outbox.stop());
    const fillSeconds = await prefill(outbox, n);
    const before = outbox.stats().backlogRows;

    const config = ForwardingConfig.parse({ brokerUrl: opts.broker.url });
    const session = new MqttSession({ config, gatewayId: 'gw-bench', logger: opts.logger, agentVersion: AGENT_VERSION, status: () => ({}) });
    const drain = new OutboxDrain({ outbox, session, logger: opts.logger, maxBatchReadings: config.maxBatchReadings, inflightWindow: config.inflightWindow });
    s.defer(() => session.stop());
    s.defer(() => drain.stop());
    const brokerCpu = new CpuMeter(opts.broker.pid, opts.ticksPerSecond);
    const selfCpu = new CpuMeter(process.pid, opts.ticksPerSecond);
    brokerCpu.begin();
    selfCpu.begin();
    const t0 = performance.now();
    let firstConnectMs: number | undefined;
    session.start();
    drain.start();
    const deadline = t0 + (opts.timeoutMs ?? 60_000);
    while (outbox.stats().backlogRows > 0 && performance.now() < deadline) {
      if (firstConnectMs === undefined && session.isConnected) firstConnectMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 2));
    }
    const seconds = (performance.now() - t0) / 1000;
    const left = outbox.stats().backlogRows;
    const fw = { ...session.stats(), ...drain.stats() };
    const drained = before - left;
    const rows: Row[] = [
      {
        section,
        name: `${n.toLocaleString('en-US')} readings acked and deleted`,
        value: drained / seconds,
        unit: 'readings/s',
        ...(opts.withTarget && { target: { op: '>=' as const, value: DRAIN_TARGET } }),
        note: `${seconds.toFixed(2)} s${left > 0 ? `, TIMED OUT with ${left.toLocaleString('en-US')} left` : ''}, ${fw.acked} messages, connect ${firstConnectMs?.toFixed(0) ?? '?'} ms (MQTT ${fw.protocolVersion})`,
      },
      { section, name: 'messages acked', value: fw.acked / seconds, unit: 'msg/s', note: `${config.maxBatchReadings} readings each, window ${config.inflightWindow}` },
      { section, name: 'session + drain + outbox process CPU', value: selfCpu.percent(), unit: '% of a core' },
      { section, name: `${opts.broker.kind} process CPU`, value: brokerCpu.percent(), unit: '% of a core' },
      { section, name: 'prefill (calls of 5,000)', value: n / fillSeconds, unit: 'readings/s', note: `${fillSeconds.toFixed(2)} s` },
    ];
    return rows;
  } finally {
    await s.close();
  }
}
