import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { Channel, EventType, type ConfigReport, type ResolvedConfig, type ResolvedLine, type Result } from '@cityedge/contract';
import { listSerialPorts, type ModbusTransport } from '@cityedge/drivers';
import { Outbox } from './store/outbox.js';
import { MqttSession } from './mqtt/mqtt-session.js';
import { OutboxDrain } from './forward/outbox-drain.js';
import { releaseMemory } from './runtime/release-memory.js';
import { AgentMetrics } from './http/metrics.js';
import { StatusServer, type Health } from './http/status-server.js';
import { ConfigManager } from './config/config-manager.js';
import { ProblemReporter } from './config/problem-reporter.js';
import { capProblems, runtimeProblems } from './poll/runtime-problems.js';
import type { LineScheduler } from './poll/line-scheduler.js';
import type { FirmataLine } from './firmata/firmata-line.js';
import type { CameraProber } from './camera/camera-prober.js';
import type { Identity } from './config/identity.js';
import { ConfigFetcher } from './config/config-fetch.js';
import { CommandHandler } from './commands/command-handler.js';
import type { CommandTargets } from './commands/command-executors.js';
import { RuleEngine, SqliteRuleStateStore, timeoutScheduler } from './rules/index.js';
import { rulesTime, type FastRulesClock } from './rules/rules-clock.js';
import { planChanges } from './runtime/change-plan.js';
import { DeviceDirectory } from './runtime/device-directory.js';
import { ReadingBus, type BusConsumer } from './runtime/reading-bus.js';
import { Runtime, type Part } from './runtime/runtime.js';
import { SourceSet } from './runtime/source-set.js';
import { agentHealth, devicesFailing, healthSnapshot } from './runtime/agent-health.js';
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
   * `resolveDocument` validates one as the agent will run it (credentials added). Commands from
   * the registry are executed only in this mode (they are signed with the registry's keys).
   */
  managed?: { identity: Identity; resolveDocument: (doc: Record<string, unknown>) => Promise<Result<ResolvedConfig>> };
  /** The last log lines, secrets redacted (the `logs.tail` command). */
  logTail?: (lines: number) => string[];
  /** Asked to restart (the `agent.restart` command): main stops the agent and exits; systemd starts it again. */
  restart?: (reason: string) => void;
  /** The rules on a faster clock than the agent's (the demo: a simulated day in minutes); default the agent's. */
  rulesClock?: FastRulesClock;
}

/**
 * The composition root. The configuration is booted first (in managed mode the last committed
 * one, verified again); then each part is built once and started in dependency order: outbox,
 * MQTT session, outbox drain, over-the-air configuration, commands, rules, sources (Modbus lines,
 * cameras), problem reports, status server; stopped in reverse. Readings flow from the sources
 * through the reading bus to the outbox and the rules; the drain takes them to the broker. A new
 * configuration is applied in place by a change plan keyed by id.
 */
export class Agent {
  readonly metrics: AgentMetrics;
  outbox!: Outbox;
  session!: MqttSession;
  drain!: OutboxDrain;
  readonly directory = new DeviceDirectory();
  config: ConfigManager | undefined;
  rules: RuleEngine | undefined;
  private sources!: SourceSet;
  /** Every reading and event of the sources and rules, to the outbox first, then to subscribers. */
  readonly bus: ReadingBus;
  private commands: CommandHandler | undefined;
  private problems!: ProblemReporter;
  private http: StatusServer | undefined;
  private ruleStore: SqliteRuleStateStore | undefined;
  /** Takes the running rule engine off the bus. */
  private unfeedRules: (() => void) | undefined;
  private resolved: ResolvedConfig;
  private lastReport: string | undefined;
  private readonly runtime: Runtime;
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.resolved = opts.resolved;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
    this.runtime = new Runtime(opts.logger);
    this.bus = new ReadingBus({ appendReadings: (r) => this.outbox.appendReadings(r), appendEvent: (e) => this.outbox.appendEvent(e) }, opts.logger.child({ module: 'bus' }));
    this.metrics = new AgentMetrics({
      lines: () => this.sources?.lineStats() ?? [],
      outbox: () => this.outbox.stats(),
      session: () => this.session.stats(),
      drain: () => this.drain.stats(),
      cameras: () => this.cameras?.stats().byState,
    });
  }

  /** The Modbus line schedulers running now. */
  get lines(): readonly LineScheduler[] {
    return this.sources?.modbusLines() ?? [];
  }

  /** The Firmata board lines running now. */
  get boards(): readonly FirmataLine[] {
    return this.sources?.firmataBoards() ?? [];
  }

  get cameras(): CameraProber | undefined {
    return this.sources?.cameras;
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  /** The configuration version running (0 when none was delivered). */
  get configVersion(): number {
    return this.config ? this.config.version : this.resolved.config.version;
  }

  async start(): Promise<void> {
    const managed = this.opts.managed;
    if (managed) {
      this.config = new ConfigManager({
        gatewayId: managed.identity.gatewayId,
        stateDir: this.opts.stateDir,
        trustedKeys: managed.identity.configPublicKeys,
        logger: this.log,
        now: this.now,
        resolve: managed.resolveDocument,
        apply: (next) => this.applyConfig(next),
        health: () => healthSnapshot(this.sources.lineStats(), this.session.isConnected),
        report: (r) => this.report(r),
      });
      // The last committed configuration, verified again, shapes every part from the start.
      this.resolved = await this.config.boot(this.resolved);
    }
    await this.build(this.resolved);
    await this.runtime.start(this.parts());
    const { config } = this.resolved;
    this.log.info(
      { gateway: config.gateway.id, lines: this.lines.length, devices: this.directoryCount(), configVersion: this.configVersion, managed: Boolean(managed) },
      'agent started',
    );
  }

  async stop(): Promise<void> {
    if (!this.runtime.running) return;
    await this.runtime.stop();
    this.log.info('agent stopped');
  }

  /** Writes a value to a writable point of a device, wherever it is. */
  write(deviceId: string, point: string, value: number | boolean): Promise<void> {
    return this.directory.write(deviceId, point, value);
  }

  health(): Health {
    return agentHealth({ running: this.runtime.running, outbox: this.outbox.stats(), session: this.session.stats(), lines: this.sources.lineStats(), cameras: this.cameras?.stats() });
  }

  /**
   * Runs another configuration without a restart, as the change plan says: lines added, removed,
   * rebuilt or changed in place; the session reconnected or updated; cameras and rules rebuilt
   * when theirs changed. Buffer and status-server settings take effect at the next start.
   */
  async applyConfig(next: ResolvedConfig): Promise<void> {
    const plan = planChanges(this.resolved, next);
    if (plan.forwarding !== 'keep') {
      await this.session.reconfigure(next.config.forwarding, plan.forwarding);
      this.drain.reconfigure(next.config.forwarding);
    }
    const built = await this.sources.apply(plan, next);
    if (plan.rules === 'rebuild') {
      this.stopRuleEngine();
      this.rules = this.buildRules(next);
      this.rules?.start();
    }
    if (plan.inPlace.includes('log.level')) this.log.level = next.config.log.level;
    this.resolved = next;
    if (plan.restartNeeded.length > 0) this.log.warn({ settings: plan.restartNeeded }, 'these settings take effect at the next start');
    this.log.info({ lines: this.lines.length, built, updated: plan.lines.update.length, removed: plan.lines.remove.length, forwarding: plan.forwarding, cameras: plan.cameras, rules: plan.rules }, 'configuration applied');
  }

  /** Builds every part once, for the configuration booted. */
  private async build(resolved: ResolvedConfig): Promise<void> {
    const { config } = resolved;
    const log = this.opts.logger;
    this.outbox = new Outbox({
      path: isAbsolute(config.buffer.path) ? config.buffer.path : join(this.opts.stateDir, config.buffer.path),
      gatewayId: config.gateway.id,
      maxRows: config.buffer.maxRows,
      maxBytes: config.buffer.maxBytes,
      telemetryOverflow: config.buffer.telemetryOverflow,
      commitIntervalMs: config.buffer.commitIntervalMs,
      logger: log.child({ module: 'outbox' }),
      now: this.now,
    });
    this.session = new MqttSession({
      config: config.forwarding,
      gatewayId: config.gateway.id,
      logger: log.child({ module: 'mqtt' }),
      agentVersion: AGENT_VERSION,
      status: () => {
        const ob = this.outbox.stats();
        return { configVersion: this.configVersion, devicesFailing: devicesFailing(this.sources.lineStats()), backlog: ob.backlogRows + ob.pending };
      },
      now: this.now,
      ...(this.opts.random && { random: this.opts.random }),
    });
    const drainLog = log.child({ module: 'drain' });
    this.drain = new OutboxDrain({
      outbox: this.outbox,
      session: this.session,
      logger: drainLog,
      maxBatchReadings: config.forwarding.maxBatchReadings,
      inflightWindow: config.forwarding.inflightWindow,
      // Once, after the backlog's last message is sent: not while it still needs its memory.
      onBacklogSent: (readings) => setImmediate(() => releaseMemory(drainLog, { readings }, [() => this.outbox.releaseCache()])),
    });
    this.problems = new ProblemReporter({ problems: () => capProblems(runtimeProblems(this.sources.lineStats())), publish: (r) => this.retainReport(JSON.stringify(r)) });
    this.sources = new SourceSet({
      gatewayId: config.gateway.id,
      sink: this.bus.sink(),
      directory: this.directory,
      logger: log,
      now: this.now,
      transportFactory: this.opts.transportFactory,
      random: this.opts.random,
      retain: (channel, payload) => this.session.retain(channel, payload),
      onPoll: (line, device, outcome, ms, failingBefore) => {
        this.metrics.recordPoll(line, device, outcome, ms);
        // Problems are devices whose last poll failed (and lines that cannot be opened, whose
        // polls fail): only a failed poll, or the first good one after, can change them. Looking
        // after every poll cost a timer and a pass over every device's stats 5 times a second.
        if (outcome === 'failed' || failingBefore) this.problems.poke();
      },
    });
    await this.sources.build(resolved);
    this.rules = this.buildRules(resolved);
    const managed = this.opts.managed;
    if (managed) {
      const origin: BusConsumer = { name: 'commands' };
      this.commands = new CommandHandler({
        gatewayId: config.gateway.id,
        trustedKeys: managed.identity.configPublicKeys,
        session: this.session,
        emit: (e) => this.bus.event(e, origin),
        logPath: join(this.opts.stateDir, 'commands.db'),
        targets: this.commandTargets(),
        logger: log.child({ module: 'commands' }),
        now: this.now,
      });
    }
    this.http = config.http.enabled
      ? new StatusServer({ host: config.http.host, port: config.http.port, logger: log, health: () => this.health(), metrics: () => this.metrics.text(), metricsContentType: this.metrics.registry.contentType })
      : undefined;
  }

  /** The parts in start order; the runtime stops them in reverse. */
  private parts(): Part[] {
    const parts: Part[] = [
      {
        name: 'outbox',
        start: () => {
          this.outbox.start();
          this.outbox.appendEvent({
            type: EventType.agentStarted,
            ts: this.now(),
            severity: 'info',
            message: `agent ${AGENT_VERSION} started with config version ${this.configVersion}`,
            data: { agentVersion: AGENT_VERSION, configVersion: this.configVersion, lines: this.resolved.lines.length, managed: Boolean(this.config) },
          });
        },
        stop: () => {
          this.outbox.flush();
          this.outbox.stop();
        },
      },
      this.session,
      this.drain,
    ];
    const cm = this.config;
    if (cm) {
      let unsubscribe: (() => void) | undefined;
      let unwatch: (() => void) | undefined;
      const identity = this.opts.managed!.identity;
      const fetcher = new ConfigFetcher({ identity, logger: this.log.child({ module: 'config-fetch' }), receive: (payload) => cm.receive(payload) });
      parts.push({
        name: 'configuration',
        start: () => {
          unsubscribe = this.session.subscribe(this.session.topic(Channel.config), (_topic, payload) => cm.receive(payload));
          // Retained messages may be node-local (a RabbitMQ cluster): ask the registry too, on every connection.
          unwatch = this.session.onConnection((up) => void (up && fetcher.fetch()));
          cm.announce();
          // After a restart the retained report may describe problems long gone: say again what runs.
          const running = this.configVersion;
          if (running > 0 && !this.lastReport) this.retainReport(JSON.stringify(this.problems.attach({ v: 1, gw: this.resolved.config.gateway.id, version: running, state: 'committed', ts: this.now(), running })));
        },
        stop: async () => {
          unsubscribe?.();
          unwatch?.();
          await cm.stop();
        },
      });
    }
    if (this.commands) parts.push(this.commands);
    parts.push(
      { name: 'rules', start: () => this.rules?.start(), stop: () => this.stopRules() },
      this.sources,
      { name: 'problem reports', start: () => undefined, stop: () => this.problems.stop() },
    );
    if (this.http) {
      const http = this.http;
      parts.push({
        name: 'status server',
        // The status endpoints are for operators: a port that is taken must not stop the data path.
        start: () =>
          http.start().catch((err: unknown) => {
            this.log.error({ err, port: this.resolved.config.http.port }, 'status server could not listen; running without /healthz and /metrics');
            this.http = undefined;
          }),
        stop: () => this.http?.stop(),
      });
    }
    return parts;
  }

  /** The rule engine of a configuration, fed by the bus; undefined without rules. */
  private buildRules(resolved: ResolvedConfig): RuleEngine | undefined {
    const rules = resolved.config.rules;
    if (!rules) return undefined;
    this.ruleStore ??= new SqliteRuleStateStore(join(this.opts.stateDir, 'rules.db'));
    const time = rulesTime(this.opts.rulesClock);
    const clock = { now: () => time.toRules(this.now()) };
    const consumer: BusConsumer = { name: 'rules', readings: (rs) => engine.onReadings(time.readingsToRules(rs)), event: (e) => engine.onEvent(time.eventToRules(e)) };
    const engine = new RuleEngine(rules, {
      clock,
      scheduler: timeoutScheduler(clock, time.scale),
      emit: { readings: (rs) => this.bus.readings(time.readingsToAgent(rs), consumer), event: (e) => this.bus.event(time.eventToAgent(e), consumer) },
      write: (dev, pt, value) => this.directory.write(dev, pt, value),
      store: this.ruleStore,
      logger: this.opts.logger.child({ module: 'rules' }),
    });
    this.unfeedRules = this.bus.subscribe(consumer);
    return engine;
  }

  private stopRuleEngine(): void {
    this.unfeedRules?.();
    this.unfeedRules = undefined;
    this.rules?.stop();
  }

  private stopRules(): void {
    this.stopRuleEngine();
    this.ruleStore?.close();
    this.ruleStore = undefined;
  }

  private commandTargets(): CommandTargets {
    return {
      directory: this.directory,
      line: (id) => this.sources.line(id),
      probeCamera: (id) => this.cameras?.probeNow(id),
      rules: () => this.rules,
      logTail: (n) => this.opts.logTail?.(n) ?? [],
      listSerialPorts: () => listSerialPorts(),
      restart: (reason) => {
        if (!this.opts.restart) throw Object.assign(new Error('this agent does not run under a supervisor that restarts it'), { code: 'EDGE_CMD_UNSUPPORTED' });
        // after the answer is committed: the runtime stops the outbox last
        setImmediate(() => this.opts.restart?.(reason));
      },
      now: this.now,
    };
  }

  private report(report: ConfigReport): void {
    const r = this.problems.attach(report);
    this.retainReport(JSON.stringify(r));
    const bad = r.state === 'rejected' || r.state === 'rolled_back';
    this.bus.event({
      type: `config.${r.state}`,
      ts: r.ts,
      severity: bad ? 'warning' : 'info',
      message: `configuration ${r.version} ${r.state.replace('_', ' ')}${r.reason ? `: ${r.reason}` : ''}`,
      data: { version: r.version, running: r.running, ...(r.reason !== undefined && { reason: r.reason }), linesFailing: r.problems?.lines.length ?? 0, devicesFailing: r.problems?.devices.length ?? 0 },
    });
  }

  private retainReport(payload: string): void {
    this.lastReport = payload;
    this.session.retain(Channel.configReport, payload);
  }

  private directoryCount(): number {
    return this.lines.reduce((n, l) => n + l.devices().length, 0);
  }
}
