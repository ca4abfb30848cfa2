import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EmbeddedBrokerStats } from '../broker/embedded-broker.js';
import type { TelemetryIngestStats } from '../ingest/telemetry-ingest.js';

export const METRIC_PREFIX = 'cityedge_registry_';

type Labels = Record<string, string>;

/**
 * Prometheus metrics of one registry process, in a registry of its own (no global default
 * registry, so several apps in one test process do not collide). HTTP requests and enrollments
 * are counted as they happen; everything else is read from the parts' stats when scraped.
 */
export class RegistryMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;
  private readonly refused: Counter<'code'>;
  private readonly enrollments: Counter<'result' | 'status'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: 20 });
    // prom-client's totals of handles, requests and resources are gauges named *_total, which
    // Prometheus reserves for counters (promtool check metrics says so); the by-type gauges stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(METRIC_PREFIX + name);

    this.requests = new Counter({ name: `${METRIC_PREFIX}http_requests_total`, help: 'HTTP requests answered, by route pattern (unmatched: no route) and status.', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time to answer an HTTP request, by route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.refused = new Counter({ name: `${METRIC_PREFIX}http_unreadable_requests_total`, help: 'Requests refused before routing (headers or URL too large, not HTTP, too slow), by error code.', labelNames: ['code'], registers });
    this.enrollments = new Counter({ name: `${METRIC_PREFIX}enrollments_total`, help: 'Enrollment attempts: enrolled, or refused with the HTTP status.', labelNames: ['result', 'status'], registers });
  }

  /** Gateways by the state the registry last heard (online, offline, unknown), read from storage when scraped. */
  watchGateways(byState: () => Promise<Record<string, number>>): void {
    new Gauge({
      name: `${METRIC_PREFIX}gateways`,
      help: 'Gateways by the state the registry last heard from them (online, offline, unknown: never connected).',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const counts = await byState();
        this.reset();
        for (const state of ['online', 'offline', 'unknown']) this.set({ state }, counts[state] ?? 0);
      },
    });
  }

  /** The telemetry ingest's counts: rates, duplicates dropped by (gw, seq), bad messages. */
  watchIngest(stats: () => TelemetryIngestStats): void {
    absolute(this.registry, 'ingest_messages_total', 'Telemetry messages taken from the broker, by result (stored; duplicate: already stored by gw and seq; malformed; mismatched: gw not the topic gateway).', ['result'], () => {
      const s = stats();
      return [[{ result: 'stored' }, s.stored], [{ result: 'duplicate' }, s.duplicates], [{ result: 'malformed' }, s.malformed], [{ result: 'mismatched' }, s.mismatched]];
    });
    absolute(this.registry, 'ingest_readings_total', 'Readings stored by the telemetry ingest.', [], () => [[{}, stats().readings]]);
    absolute(this.registry, 'ingest_store_errors_total', 'Failed telemetry inserts (each retried).', [], () => [[{}, stats().sinkErrors]]);
  }

  /** The embedded broker's clients and refusals (Mosquitto keeps its own: $SYS topics, its log). */
  watchBroker(stats: () => EmbeddedBrokerStats): void {
    new Gauge({
      name: `${METRIC_PREFIX}broker_connected_clients`,
      help: 'Clients connected to the embedded broker (gateways and service accounts).',
      registers: [this.registry],
      collect() {
        this.set(stats().connected);
      },
    });
    absolute(this.registry, 'broker_denials_total', 'What the embedded broker refused: logins (bad password, wrong client id), publishes and subscriptions outside the ACL.', ['action'], () => {
      const s = stats();
      return [[{ action: 'connect' }, s.connectDenied], [{ action: 'publish' }, s.publishDenied], [{ action: 'subscribe' }, s.subscribeDenied]];
    });
  }

  /** The console's event streams: open now, readings dropped for slow clients, streams closed for falling behind. */
  watchStreams(stats: () => { open: number; droppedReadings: number; closedSlow: number }): void {
    new Gauge({
      name: `${METRIC_PREFIX}streams_open`,
      help: 'Event streams (GET /v1/stream) open now.',
      registers: [this.registry],
      collect() {
        this.set(stats().open);
      },
    });
    absolute(this.registry, 'stream_readings_dropped_total', 'Readings events not sent to event-stream clients that read too slowly.', [], () => [[{}, stats().droppedReadings]]);
    absolute(this.registry, 'streams_closed_slow_total', 'Event streams closed because their client fell more than 1 MiB behind.', [], () => [[{}, stats().closedSlow]]);
  }

  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const r = route ?? 'unmatched';
    this.requests.inc({ method, route: r, status: String(status) });
    this.duration.observe({ method, route: r }, seconds);
  }

  countUnreadable(code: string): void {
    this.refused.inc({ code });
  }

  countEnrollment(status: number): void {
    this.enrollments.inc({ result: status < 400 ? 'enrolled' : 'refused', status: String(status) });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A counter whose value is read from a cumulative count at scrape time (the part keeps the count). */
function absolute(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>): void {
  new Counter({
    name: METRIC_PREFIX + name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}
