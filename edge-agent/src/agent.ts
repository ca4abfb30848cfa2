import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { Channel, EventType, topicFor, type ConfigReport, type ResolvedConfig, type ResolvedLine, type Result } from '@cityedge/contract';
import { createTransport, type ModbusTransport } from '@cityedge/drivers';
import { Outbox } from './store/outbox.js';
import { Forwarder } from './forward/forwarder.js';
import { LineScheduler } from './poll/line-scheduler.js';
import { AgentMetrics } from './http/metrics.js';
import { StatusServer, type Health } from './http/status-server.js';
import { ConfigManager, type HealthSnapshot } from './config/config-manager.js';
import { ProblemReporter } from './config/problem-reporter.js';
import { capProblems, runtimeProblems } from './poll/runtime-problems.js';
import type { CameraProber } from './camera/camera-prober.js';
import type { Identity } from './config/identity.js';
import { AGENT_VERSION } from './version.js';

export interface AgentOptions {
  /** The configuration to run: from a file (local mode) or the bootstrap one (managed mode). */
  resolved: ResolvedConfig;
  /** Where the outbox and other state live (systemd StateDirectory). */
  stateDir: string;
  logger: Logger;
  now?: () => number;
  random?: () => number;
  /** Builds a line's transport; tests and the benchmark may pass their own. */
  transportFactory?: (line: ResolvedLine['config']) => ModbusTransport;
  /**
   * Managed mode: the gateway was enrolled; configurations arrive signed over the air and
   * `resolveDocument` validates one as the agent will run it (credentials added).
   */
  managed?: { identity: Identity; resolveDocument: (doc: Record<string, unknown>) => Promise<Result<ResolvedConfig>> };
}

/**
 * The composition root: builds every part of the gateway and starts them in dependency order
 * (outbox, configuration, forwarder, line schedulers, status server), stopping them in reverse.
 * The outbox is started first and stopped last so that every reading has a home. In managed
 * mode a new configuration is applied in place: lines added, changed or removed, the broker
 * link rebuilt when its settings change; the outbox stays.
 */
export class Agent {
  outbox!: Outbox;
  forwarder: Forwarder;
  lines: LineScheduler[] = [];
  cameras: CameraProber | undefined;
  readonly metrics: AgentMetrics;
  readonly config: ConfigManager | undefined;
  private resolved: ResolvedConfig;
  private http: StatusServer | undefined;
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private started = false;
  private lastReport: string | undefined;
  /** Line and device problems, sent with every config report and refreshed when they change. */
  private readonly problems: ProblemReporter;

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.resolved = opts.resolved;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
    [this.outbox, this.forwarder, this.http] = this.build(opts.resolved);
    this.problems = new ProblemReporter({ problems: () => capProblems(runtimeProblems(this.lines.map((l) => l.stats()))), publish: (r) => this.retainReport(JSON.stringify(r)) });
    this.metrics = new AgentMetrics({
      lines: () => this.lines.map((l) => l.stats()),
      outbox: () => this.outbox.stats(),
      forwarder: () => this.forwarder.stats(),
      cameras: () => this.cameras?.stats().byState,
    });
    if (opts.managed) {
      const { identity, resolveDocument } = opts.managed;
      this.config = new ConfigManager({
        gatewayId: identity.gatewayId,
        stateDir: opts.stateDir,
        trustedKeys: identity.configPublicKeys,
        logger: opts.logger,
        now: this.now,
        resolve: resolveDocument,
        apply: (next) => this.applyConfig(next),
        health: () => this.healthSnapshot(),
        report: (r) => this.report(r),
      });
    }
  }

  /** The parts a configuration shapes before start: outbox, forwarder, status server. */
  private build(resolved: ResolvedConfig): [Outbox, Forwarder, StatusServer | undefined] {
    const { config } = resolved;
    const outbox = new Outbox({
      path: isAbsolute(config.buffer.path) ? config.buffer.path : join(this.opts.stateDir, config.buffer.path),
      gatewayId: config.gateway.id,
      maxRows: config.buffer.maxRows,
      maxBytes: config.buffer.maxBytes,
      telemetryOverflow: config.buffer.telemetryOverflow,
      commitIntervalMs: config.buffer.commitIntervalMs,
      logger: this.opts.logger.child({ module: 'outbox' }),
      now: this.now,
    });
    this.outbox = outbox;
    const http = config.http.enabled
      ? new StatusServer({
          host: config.http.host,
          port: config.http.port,
          logger: this.opts.logger,
          health: () => this.health(),
          metrics: () => this.metrics.text(),
          metricsContentType: this.metrics?.registry.contentType ?? 'text/plain; version=0.0.4; charset=utf-8',
        })
      : undefined;
    return [outbox, this.buildForwarder(resolved), http];
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  /** The configuration version running (0 when none was delivered). */
  get configVersion(): number {
    return this.config ? this.config.version : this.resolved.config.version;
  }

  async start(): Promise<void> {
    if (this.config) {
      // The last committed configuration, verified again, shapes every part from the start.
      const booted = await this.config.boot(this.resolved);
      if (booted !== this.resolved) {
        this.resolved = booted;
        [this.outbox, this.forwarder, this.http] = this.build(booted);
      }
    }
    this.outbox.start();
    this.started = true;
    const { config } = this.resolved;
    this.outbox.appendEvent({
      type: EventType.agentStarted,
      ts: this.now(),
      severity: 'info',
      message: `agent ${AGENT_VERSION} started with config version ${this.configVersion}`,
      data: { agentVersion: AGENT_VERSION, configVersion: this.configVersion, lines: this.resolved.lines.length, managed: Boolean(this.config) },
    });
    this.startForwarder(this.forwarder);
    this.config?.announce();
    this.cameras = await this.buildCameras(this.resolved);
    this.cameras?.start();
    this.lines = this.resolved.lines.map((line) => this.buildLine(line));
    for (const line of this.lines) line.start();
    // After a restart the retained report may describe problems long gone: say again what runs.
    const running = this.configVersion;
    if (this.config && running > 0 && !this.lastReport) {
      this.retainReport(JSON.stringify(this.problems.attach({ v: 1, gw: config.gateway.id, version: running, state: 'committed', ts: this.now(), running })));
    }
    // The status endpoints are for operators: a port that is taken must not stop the data path.
    await this.http?.start().catch((err: unknown) => {
      this.log.error({ err: (err as Error).message, port: config.http.port }, 'status server could not listen; running without /healthz and /metrics');
      this.http = undefined;
    });
    this.log.info(
      { gateway: config.gateway.id, lines: this.lines.length, devices: this.devicesTotal(), configVersion: this.configVersion, managed: Boolean(this.config) },
      'agent started',
    );
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.problems.stop();
    await this.http?.stop();
    await this.config?.stop();
    await this.cameras?.stop();
    await Promise.all(this.lines.map((l) => l.stop()));
    this.outbox.flush();
    await this.forwarder.stop();
    this.outbox.stop();
    this.log.info('agent stopped');
  }

  /**
   * Runs another configuration without a restart: lines whose definition changed are stopped
   * and rebuilt, new lines started, removed ones stopped; the broker link is rebuilt when the
   * forwarding settings change. Buffer and status-server settings take effect at the next start.
   */
  async applyConfig(next: ResolvedConfig): Promise<void> {
    const current = new Map(this.lines.map((l, i) => [l.id, { scheduler: l, def: JSON.stringify(this.resolved.lines[i]) }]));
    const kept: LineScheduler[] = [];
    const stopping: Promise<void>[] = [];
    const started: LineScheduler[] = [];
    for (const line of next.lines) {
      const old = current.get(line.config.id);
      current.delete(line.config.id);
      if (old && old.def === JSON.stringify(line)) {
        kept.push(old.scheduler);
        continue;
      }
      if (old) stopping.push(old.scheduler.stop());
      const scheduler = this.buildLine(line);
      kept.push(scheduler);
      started.push(scheduler);
    }
    for (const { scheduler } of current.values()) stopping.push(scheduler.stop());
    await Promise.all(stopping);
    const brokerChanged = JSON.stringify(next.config.forwarding) !== JSON.stringify(this.resolved.config.forwarding);
    const camerasChanged = JSON.stringify(next.config.cameras) !== JSON.stringify(this.resolved.config.cameras);
    if (camerasChanged) await this.cameras?.stop();
    this.resolved = next;
    this.lines = kept;
    if (brokerChanged) {
      await this.forwarder.stop();
      this.forwarder = this.buildForwarder(next);
      this.startForwarder(this.forwarder);
    }
    for (const s of started) s.start();
    if (camerasChanged) {
      this.cameras = await this.buildCameras(next);
      this.cameras?.start();
    }
    this.log.info({ lines: kept.length, rebuilt: started.length, camerasRebuilt: camerasChanged }, 'configuration applied');
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
    const devices = this.devicesTotal();
    const checks: Health['checks'] = {
      outbox: { ok: this.started && !ob.storageFailing, detail: `${ob.backlogRows} rows waiting, ${ob.storageErrors} storage errors` },
      broker: { ok: fw.connected, detail: fw.connected ? 'connected' : `disconnected${fw.lastError ? `: ${fw.lastError}` : ''}` },
      devices: { ok: failing === 0, detail: `${devices - failing} of ${devices} answering` },
    };
    const cams = this.cameras?.stats();
    // Informational: one dark camera must not make the gateway unhealthy (or roll back a config).
    if (cams) checks.cameras = { ok: true, detail: Object.entries(cams.byState).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`).join(', ') || 'none probed yet' };
    const status = !this.started ? 'failing' : Object.values(checks).every((c) => c.ok) ? 'ok' : 'degraded';
    return { status, checks };
  }

  private healthSnapshot(): HealthSnapshot {
    let answering = 0;
    const linesOpen: string[] = [];
    const linesUnopenable: string[] = [];
    for (const l of this.lines) {
      const st = l.stats();
      if (st.connected) linesOpen.push(st.id);
      if (st.openError) linesUnopenable.push(st.id);
      for (const d of st.devices) if (d.polls > 0 && d.consecutiveFailures === 0) answering++;
    }
    return { brokerConnected: this.forwarder.stats().connected, devicesAnswering: answering, linesOpen, linesUnopenable };
  }

  private report(report: ConfigReport): void {
    const r = this.problems.attach(report);
    this.retainReport(JSON.stringify(r));
    const bad = r.state === 'rejected' || r.state === 'rolled_back';
    this.outbox.appendEvent({
      type: `config.${r.state}`,
      ts: r.ts,
      severity: bad ? 'warning' : 'info',
      message: `configuration ${r.version} ${r.state.replace('_', ' ')}${r.reason ? `: ${r.reason}` : ''}`,
      data: { version: r.version, running: r.running, ...(r.reason !== undefined && { reason: r.reason }), linesFailing: r.problems?.lines.length ?? 0, devicesFailing: r.problems?.devices.length ?? 0 },
    });
  }

  private retainReport(payload: string): void {
    this.lastReport = payload;
    this.forwarder.retain(Channel.configReport, payload);
  }

  private buildForwarder(resolved: ResolvedConfig): Forwarder {
    const { config } = resolved;
    return new Forwarder({
      config: config.forwarding,
      gatewayId: config.gateway.id,
      outbox: this.outbox,
      logger: this.opts.logger.child({ module: 'forwarder' }),
      agentVersion: AGENT_VERSION,
      protocolVersion: config.forwarding.protocolVersion,
      status: () => ({ configVersion: this.configVersion, devicesFailing: this.devicesFailing() }),
      now: this.now,
      ...(this.opts.random && { random: this.opts.random }),
    });
  }

  private startForwarder(fw: Forwarder): void {
    if (this.config) {
      const { config } = this.resolved;
      const cm = this.config;
      fw.subscribe(topicFor(config.gateway.id, Channel.config, config.forwarding.topicPrefix), (_topic, payload) => cm.receive(payload));
      if (this.lastReport) fw.retain(Channel.configReport, this.lastReport);
    }
    fw.start();
  }

  /**
   * Camera probing runs beside polling: its own concurrency limit and timeouts, never on the
   * lines. Its code (ONVIF, XML, JPEG) is loaded only when the gateway has cameras: a gateway
   * without any keeps that memory.
   */
  private async buildCameras(resolved: ResolvedConfig): Promise<CameraProber | undefined> {
    const { config } = resolved;
    const c = config.cameras;
    if (!c.enabled || (c.devices.length === 0 && !c.discovery.enabled)) return undefined;
    const { CameraProber } = await import('./camera/camera-prober.js');
    return new CameraProber({
      config: c,
      gatewayId: config.gateway.id,
      now: this.now,
      logger: this.opts.logger.child({ module: 'cameras' }),
      appendEvent: (e) => this.outbox.appendEvent(e),
      publishStatus: (p) => this.forwarder.retain(Channel.cameras, p),
      publishThumbnail: (p) => this.forwarder.retain(Channel.cameraThumbnail, p),
    });
  }

  private buildLine(line: ResolvedLine): LineScheduler {
    const makeTransport = this.opts.transportFactory ?? createTransport;
    return new LineScheduler({
      line,
      transport: makeTransport(line.config),
      sink: this.outbox,
      logger: this.opts.logger,
      now: this.now,
      onPoll: (device, outcome, ms) => {
        this.metrics.recordPoll(line.config.id, device, outcome, ms);
        this.problems.poke();
      },
    });
  }

  private devicesTotal(): number {
    return this.lines.reduce((n, l) => n + l.stats().devices.length, 0);
  }

  /** Devices that fail, never answered or are quarantined: the same count as the problems the registry is told. */
  private devicesFailing(): number {
    return runtimeProblems(this.lines.map((l) => l.stats())).devices.length;
  }
}
