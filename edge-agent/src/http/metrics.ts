import { Counter, Gauge, Registry } from 'prom-client';
import type { LineStats } from '../poll/line-scheduler.js';
import type { OutboxStats } from '../store/outbox.js';
import type { MqttSessionStats } from '../mqtt/mqtt-session.js';
import type { OutboxDrainStats } from '../forward/outbox-drain.js';
import { collectProcessMetrics } from './process-metrics.js';

type PollResult = 'ok' | 'partial' | 'failed';
const POLL_RESULTS: readonly PollResult[] = ['ok', 'partial', 'failed'];

/** One device's poll counts, kept as plain numbers and handed to prom-client at scrape time. */
interface PollCounts extends Record<PollResult, number> {
  seconds: number;
}

export interface MetricSources {
  lines: () => LineStats[];
  outbox: () => OutboxStats;
  session: () => MqttSessionStats;
  drain: () => OutboxDrainStats;
  /** Cameras by state, when the gateway probes cameras. */
  cameras?: () => Record<string, number> | undefined;
}

/**
 * Prometheus metrics of one agent, in a registry of its own (no global default registry).
 * Poll outcomes are counted as they happen; everything else is read from the parts' stats at
 * scrape time. Counters fed from cumulative stats advance by the difference since the last scrape.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  /**
   * Poll counts by line and device. prom-client hashes and validates the labels on every inc();
   * at 50 polls a second that cost more than the rest of the bookkeeping of a poll.
   */
  private readonly pollCounts = new Map<string, Map<string, PollCounts>>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    // Process memory, CPU and event-loop lag: what tells a gateway is short of resources. The lag
    // histogram samples with a timer of this period: at 20 ms it woke an idle agent 50 times a
    // second (most of its idle CPU); a stall long enough to matter still shows at 1 s, and poll
    // slip (cityedge_poll_slip_max_seconds) measures lateness where it counts.
    collectProcessMetrics(this.registry, { prefix: 'cityedge_', eventLoopMonitoringPrecision: 1000 });
    // prom-client's totals of handles, requests and resources are gauges named *_total, which
    // Prometheus reserves for counters (promtool check metrics refuses them); the by-type gauges stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(`cityedge_${name}`);
    const pollCounts = this.pollCounts;
    new Counter({
      name: 'cityedge_polls_total',
      help: 'Device polls by result (ok, partial, failed).',
      labelNames: ['line', 'device', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [line, devices] of pollCounts) for (const [device, c] of devices) for (const result of POLL_RESULTS) if (c[result] > 0) this.inc({ line, device, result }, c[result]);
      },
    });
    new Counter({
      name: 'cityedge_poll_seconds_total',
      help: 'Time spent polling a device.',
      labelNames: ['line', 'device'],
      registers,
      collect() {
        this.reset();
        for (const [line, devices] of pollCounts) for (const [device, c] of devices) this.inc({ line, device }, c.seconds);
      },
    });

    new Gauge({
      name: 'cityedge_device_up',
      help: '1 when the device answered its last poll, 0 when it is failing.',
      labelNames: ['line', 'device'],
      registers,
      collect() {
        this.reset();
        for (const line of sources.lines()) for (const d of line.devices) this.set({ line: line.id, device: d.id }, d.consecutiveFailures === 0 && d.polls > 0 ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cityedge_device_quarantined',
      help: '1 while a device is polled with backoff because it stopped answering.',
      labelNames: ['line', 'device'],
      registers,
      collect() {
        this.reset();
        for (const line of sources.lines()) for (const d of line.devices) this.set({ line: line.id, device: d.id }, d.quarantined ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cityedge_poll_slip_max_seconds',
      help: 'Largest delay of a poll behind its schedule since start.',
      labelNames: ['line', 'device'],
      registers,
      collect() {
        this.reset();
        for (const line of sources.lines()) for (const d of line.devices) this.set({ line: line.id, device: d.id }, d.maxSlipMs / 1000);
      },
    });
    new Gauge({
      name: 'cityedge_line_connected',
      help: '1 when the line (serial port or socket) is open.',
      labelNames: ['line'],
      registers,
      collect() {
        this.reset();
        for (const line of sources.lines()) this.set({ line: line.id }, line.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cityedge_cameras',
      help: 'Cameras by state (online, degraded, unauthorized, unreachable, misconfigured, unknown).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(sources.cameras?.() ?? {})) this.set({ state }, n);
      },
    });
    gauge(this.registry, 'cityedge_outbox_backlog_rows', 'Readings and events waiting to be forwarded.', () => sources.outbox().backlogRows);
    gauge(this.registry, 'cityedge_outbox_backlog_bytes', 'Payload bytes waiting to be forwarded.', () => sources.outbox().backlogBytes);
    gauge(this.registry, 'cityedge_outbox_pending_rows', 'Readings accepted but not yet committed to disk.', () => sources.outbox().pending);
    gauge(this.registry, 'cityedge_mqtt_connected', '1 while connected to the broker.', () => (sources.session().connected ? 1 : 0));
    gauge(this.registry, 'cityedge_mqtt_inflight_messages', 'Messages published and not yet acknowledged.', () => sources.drain().inflight);
    cumulative(this.registry, 'cityedge_outbox_dropped_total', 'Rows dropped by the overflow policy, by stream.', ['stream'], () => {
      const d = sources.outbox().dropped;
      return [[{ stream: 'telemetry' }, d.telemetry], [{ stream: 'events' }, d.events]];
    });
    cumulative(this.registry, 'cityedge_outbox_appended_total', 'Rows accepted into the outbox, by stream.', ['stream'], () => {
      const a = sources.outbox().appended;
      return [[{ stream: 'telemetry' }, a.telemetry], [{ stream: 'events' }, a.events]];
    });
    cumulative(this.registry, 'cityedge_outbox_storage_errors_total', 'Failed writes to the outbox file.', [], () => [[{}, sources.outbox().storageErrors]]);
    cumulative(this.registry, 'cityedge_mqtt_published_messages_total', 'Messages published (including resends).', [], () => [[{}, sources.drain().published]]);
    cumulative(this.registry, 'cityedge_mqtt_acked_messages_total', 'Messages acknowledged by the broker (PUBACK).', [], () => [[{}, sources.drain().acked]]);
    cumulative(this.registry, 'cityedge_mqtt_published_readings_total', 'Readings in published messages.', [], () => [[{}, sources.drain().publishedReadings]]);
    cumulative(this.registry, 'cityedge_mqtt_reconnects_total', 'Connection attempts after the first.', [], () => [[{}, sources.session().reconnects]]);
  }

  recordPoll(line: string, device: string, result: PollResult, durationMs: number): void {
    let devices = this.pollCounts.get(line);
    if (!devices) this.pollCounts.set(line, (devices = new Map()));
    let c = devices.get(device);
    if (!c) devices.set(device, (c = { ok: 0, partial: 0, failed: 0, seconds: 0 }));
    c[result]++;
    c.seconds += durationMs / 1000;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

type Labels = Record<string, string>;

function cumulative(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const delta = value - (last.get(key) ?? 0);
        if (delta > 0) this.inc(labels, delta);
        last.set(key, value);
      }
    },
  });
}
