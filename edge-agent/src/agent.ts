import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { EventType, type ResolvedConfig } from '@cityedge/contract';
import { createTransport, type ModbusTransport } from '@cityedge/drivers';
import { Outbox } from './store/outbox.js';
import { Forwarder } from './forward/forwarder.js';
import { LineScheduler } from './poll/line-scheduler.js';
import { AgentMetrics } from './http/metrics.js';
import { StatusServer, type Health } from './http/status-server.js';
import { AGENT_VERSION } from './version.js';

export interface AgentOptions {
  resolved: ResolvedConfig;
  /** Where the outbox and other state live (systemd StateDirectory). */
  stateDir: string;
  logger: Logger;
  now?: () => number;
  random?: () => number;
  /** Builds a line's transport; tests and the benchmark may pass their own. */
  transportFactory?: (line: ResolvedConfig['lines'][number]['config']) => ModbusTransport;
}

/**
 * The composition root: builds every part of the gateway and starts them in dependency order
 * (outbox, forwarder, line schedulers, status server), stopping them in reverse. The outbox is
 * started first and stopped last so that every reading the schedulers produce has a home.
 */
export class Agent {
  readonly outbox: Outbox;
  readonly forwarder: Forwarder;
  readonly lines: LineScheduler[];
  readonly metrics: AgentMetrics;
  private readonly http: StatusServer | undefined;
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  private started = false;

  constructor(opts: AgentOptions) {
    this.opts = opts;
    const { config } = opts.resolved;
    const now = opts.now ?? Date.now;
    this.log = opts.logger;
    const gatewayId = config.gateway.id;
    this.outbox = new Outbox({
      path: isAbsolute(config.buffer.path) ? config.buffer.path : join(opts.stateDir, config.buffer.path),
      gatewayId,
      maxRows: config.buffer.maxRows,
      maxBytes: config.buffer.maxBytes,
      telemetryOverflow: config.buffer.telemetryOverflow,
      commitIntervalMs: config.buffer.commitIntervalMs,
      logger: opts.logger.child({ module: 'outbox' }),
      now,
    });
    this.forwarder = new Forwarder({
      config: config.forwarding,
      gatewayId,
      outbox: this.outbox,
      logger: opts.logger.child({ module: 'forwarder' }),
      agentVersion: AGENT_VERSION,
      protocolVersion: config.forwarding.protocolVersion,
      status: () => ({ configVersion: config.version, devicesFailing: this.devicesFailing() }),
      now,
      ...(opts.random && { random: opts.random }),
    });
    const makeTransport = opts.transportFactory ?? createTransport;
    this.metrics = new AgentMetrics({
      lines: () => this.lines.map((l) => l.stats()),
      outbox: () => this.outbox.stats(),
      forwarder: () => this.forwarder.stats(),
    });
    this.lines = opts.resolved.lines.map(
      (line) =>
        new LineScheduler({
          line,
          transport: makeTransport(line.config),
          sink: this.outbox,
          logger: opts.logger,
          now,
          onPoll: (device, outcome, ms) => this.metrics.recordPoll(line.config.id, device, outcome, ms),
        }),
    );
    this.http = config.http.enabled
      ? new StatusServer({
          host: config.http.host,
          port: config.http.port,
          logger: opts.logger,
          health: () => this.health(),
          metrics: () => this.metrics.text(),
          metricsContentType: this.metrics.registry.contentType,
        })
      : undefined;
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  async start(): Promise<void> {
    const { config } = this.opts.resolved;
    this.outbox.start();
    this.started = true;
    this.outbox.appendEvent({
      type: EventType.agentStarted,
      ts: (this.opts.now ?? Date.now)(),
      severity: 'info',
      message: `agent ${AGENT_VERSION} started with config version ${config.version}`,
      data: { agentVersion: AGENT_VERSION, configVersion: config.version, lines: this.lines.length },
    });
    this.forwarder.start();
    for (const line of this.lines) line.start();
    await this.http?.start();
    this.log.info(
      { gateway: config.gateway.id, lines: this.lines.length, devices: this.opts.resolved.lines.reduce((n, l) => n + l.devices.length, 0), broker: redactUrl(config.forwarding.brokerUrl) },
      'agent started',
    );
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.http?.stop();
    await Promise.all(this.lines.map((l) => l.stop()));
    this.outbox.flush();
    await this.forwarder.stop();
    this.outbox.stop();
    this.log.info('agent stopped');
  }

  /** Writes a value to a writable point of a device, on that device's line. */
  write(deviceId: string, point: string, value: number | boolean): Promise<void> {
    const line = this.lines.find((l) => l.stats().devices.some((d) => d.id === deviceId));
    if (!line) return Promise.reject(new Error(`no device "${deviceId}"`));
    return line.write(deviceId, point, value);
  }

  health(): Health {
    const ob = this.outbox.stats();
    const fw = this.forwarder.stats();
    const failing = this.devicesFailing();
    const devices = this.lines.reduce((n, l) => n + l.stats().devices.length, 0);
    const checks: Health['checks'] = {
      outbox: { ok: this.started, detail: `${ob.backlogRows} rows waiting, ${ob.storageErrors} storage errors` },
      broker: { ok: fw.connected, detail: fw.connected ? 'connected' : `disconnected${fw.lastError ? `: ${fw.lastError}` : ''}` },
      devices: { ok: failing === 0, detail: `${devices - failing} of ${devices} answering` },
    };
    const status = !this.started ? 'failing' : Object.values(checks).every((c) => c.ok) ? 'ok' : 'degraded';
    return { status, checks };
  }

  private devicesFailing(): number {
    let n = 0;
    for (const l of this.lines) for (const d of l.stats().devices) if (d.consecutiveFailures > 0) n++;
    return n;
  }
}

/** A broker URL without credentials, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
