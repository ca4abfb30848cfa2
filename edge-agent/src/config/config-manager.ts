import type { Logger } from 'pino';
import {
  ConfigSignatureError,
  formatProblems,
  verifySignedConfig,
  type ConfigReport,
  type ConfigReportState,
  type ResolvedConfig,
  type Result,
  type SignedConfig,
} from '@cityedge/contract';
import { ConfigStore } from './config-store.js';
import { changedLineIds, planChanges } from '../runtime/change-plan.js';

/** What the health check compares before and after a configuration is applied. */
export interface HealthSnapshot {
  brokerConnected: boolean;
  /** Devices whose last poll succeeded. */
  devicesAnswering: number;
  /** Lines whose port or socket is open. */
  linesOpen: readonly string[];
  /** Lines whose port or socket cannot be opened now. */
  linesUnopenable: readonly string[];
  /** Lines still in their first connection attempt (a Firmata board's first handshake); none when omitted. */
  linesStarting?: readonly string[];
}

/** How often the health check looks again while a line is still starting. */
const STARTING_RECHECK_MS = 200;

export interface ConfigManagerOptions {
  gatewayId: string;
  stateDir: string;
  trustedKeys: readonly string[];
  logger: Logger;
  now?: () => number;
  /** Validates a configuration document as the agent would run it (credentials added). */
  resolve: (document: Record<string, unknown>) => Promise<Result<ResolvedConfig>>;
  /** Applies a configuration to the running agent without a restart. */
  apply: (resolved: ResolvedConfig) => Promise<void>;
  health: () => HealthSnapshot;
  /** Publishes a report (retained on config/report) and records it as an event. */
  report: (report: ConfigReport) => void;
}

interface Running {
  doc: SignedConfig | undefined;
  resolved: ResolvedConfig;
}


/**
 * Over-the-air configuration, as Mender and TUF do it: a delivered document is verified
 * (signature, gateway, version above everything seen), applied without a restart, and committed
 * as last-good only after it has stayed healthy for its health window; otherwise the last good
 * configuration is restored by itself. An attempt marker on disk makes a crash or power cut
 * during the window count as a failure, so the gateway boots on the old or the new
 * configuration, never a mix, and never retries a configuration that took it down.
 */
export class ConfigManager {
  private readonly opts: ConfigManagerOptions;
  private readonly store: ConfigStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private running: Running | undefined;
  private queue: Promise<void> = Promise.resolve();
  private windowTimer: NodeJS.Timeout | undefined;
  private windowDone: (() => void) | undefined;
  private stopped = false;
  private readonly reported = new Set<string>();

  constructor(opts: ConfigManagerOptions) {
    this.opts = opts;
    this.store = new ConfigStore(opts.stateDir);
    this.log = opts.logger.child({ module: 'config' });
    this.now = opts.now ?? Date.now;
  }

  get version(): number {
    return this.running?.doc?.version ?? 0;
  }

  /**
   * The configuration to boot on: the last committed one when it still verifies, else
   * `fallback` (the bootstrap configuration). A configuration whose attempt was interrupted is
   * reported rolled back and will not be applied again.
   */
  async boot(fallback: ResolvedConfig): Promise<ResolvedConfig> {
    const attempt = this.store.attempt();
    if (attempt) {
      this.store.raiseFloor(attempt.version);
      this.store.clearAttempt();
      this.pendingBootReport = { version: attempt.version, reason: 'the agent restarted before the health window ended (crash or power cut)' };
    }
    const raw = this.store.lastGood();
    let resolved = fallback;
    let doc: SignedConfig | undefined;
    if (raw !== undefined) {
      try {
        doc = verifySignedConfig(raw, { gatewayId: this.opts.gatewayId, publicKeysPem: this.opts.trustedKeys, minVersion: 0 });
        const r = await this.opts.resolve(doc.config);
        if (r.ok) resolved = r.value;
        else {
          this.log.error({ problems: formatProblems(r.problems) }, 'the last good configuration no longer validates; booting on the bootstrap configuration');
          doc = undefined;
        }
      } catch (err) {
        this.log.error({ err }, 'the last good configuration does not verify; booting on the bootstrap configuration');
        doc = undefined;
      }
    }
    this.running = { doc, resolved };
    return resolved;
  }

  private pendingBootReport: { version: number; reason: string } | undefined;

  /** Sends what boot found (an interrupted attempt); call once the forwarder is running. */
  announce(): void {
    const p = this.pendingBootReport;
    this.pendingBootReport = undefined;
    if (p) this.send(p.version, 'rolled_back', p.reason);
  }

  /** A message on the config topic. Applies are serialised: one at a time, in arrival order. */
  receive(payload: Buffer): void {
    this.queue = this.queue.then(() => this.handle(payload)).catch((err: unknown) => this.log.error({ err }, 'configuration handling failed'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.windowTimer);
    this.windowDone?.();
    await this.queue;
  }

  private async handle(payload: Buffer): Promise<void> {
    if (this.stopped || !this.running) return;
    if (payload.length === 0) return; // a retained message being cleared
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.reject(undefined, 'malformed', 'not JSON');
    }
    const candidateVersion = typeof (raw as { version?: unknown })?.version === 'number' ? (raw as { version: number }).version : undefined;
    // The retained copy of what runs, or of what was already refused, comes again on every reconnect.
    if (candidateVersion !== undefined && (candidateVersion === this.version || (candidateVersion <= this.store.floor() && candidateVersion > this.version))) return;
    let doc: SignedConfig;
    try {
      doc = verifySignedConfig(raw, { gatewayId: this.opts.gatewayId, publicKeysPem: this.opts.trustedKeys, minVersion: Math.max(this.version, this.store.floor()) });
    } catch (err) {
      if (err instanceof ConfigSignatureError) return this.reject(candidateVersion, err.problem, err.message);
      throw err;
    }
    this.send(doc.version, 'delivered');
    const resolved = await this.opts.resolve(doc.config);
    if (!resolved.ok) {
      this.store.raiseFloor(doc.version);
      return this.reject(doc.version, 'invalid', formatProblems(resolved.problems));
    }
    await this.tryConfig(doc, resolved.value);
  }

  private async tryConfig(doc: SignedConfig, next: ResolvedConfig): Promise<void> {
    const previous = this.running!;
    const before = this.opts.health();
    this.store.beginAttempt(doc.version, this.now());
    this.log.info({ version: doc.version, from: this.version }, 'applying configuration');
    try {
      await this.opts.apply(next);
    } catch (err) {
      return this.rollBack(doc, previous, `apply failed: ${(err as Error).message}`);
    }
    this.running = { doc, resolved: next };
    this.send(doc.version, 'applied');
    await this.waitWindow(next.config.ota.healthWindowMs);
    // A board still in its first handshake (bounded by its handshakeTimeoutMs) is judged once it
    // ends, so the committed report carries problems computed after it: a watch sees the board
    // answer or fail, not a board that is still booting.
    for (let looks = 0; !this.stopped; looks++) {
      const starting = this.opts.health().linesStarting ?? [];
      if (starting.length === 0) break;
      if (looks === 0) this.log.info({ version: doc.version, lines: starting }, 'health window over; judged once these lines end their first connection attempt');
      await this.waitWindow(STARTING_RECHECK_MS);
    }
    if (this.stopped) return; // the attempt marker stays: the next boot counts this as a failure
    const after = this.opts.health();
    const problems: string[] = [];
    if (!after.brokerConnected) problems.push('the broker link is down');
    if (after.devicesAnswering < before.devicesAnswering) problems.push(`${after.devicesAnswering} devices answer, ${before.devicesAnswering} did before`);
    // A line this configuration changed whose port opened before and cannot now is this
    // configuration's doing. A port that was already missing, or one a new line names, is not a
    // reason to roll back: the old configuration would not bring the adapter back. It commits,
    // and the report names the line.
    const changed = changedLineIds(planChanges(previous.resolved, next));
    const lost = before.linesOpen.filter((id) => changed.has(id) && after.linesUnopenable.includes(id));
    if (lost.length > 0) problems.push(`line${lost.length > 1 ? 's' : ''} ${lost.join(', ')} cannot be opened any more`);
    if (problems.length > 0) return this.rollBack(doc, previous, `unhealthy after ${next.config.ota.healthWindowMs} ms: ${problems.join('; ')}`);
    this.store.commit(doc);
    this.log.info({ version: doc.version }, 'configuration committed');
    this.send(doc.version, 'committed');
  }

  private async rollBack(doc: SignedConfig, previous: Running, reason: string): Promise<void> {
    this.log.warn({ version: doc.version, restoring: previous.doc?.version ?? 0, reason }, 'rolling back the configuration');
    this.store.raiseFloor(doc.version);
    try {
      await this.opts.apply(previous.resolved);
    } catch (err) {
      this.log.error({ err }, 'restoring the previous configuration failed');
    }
    this.running = previous;
    this.store.clearAttempt();
    this.send(doc.version, 'rolled_back', reason);
  }

  private waitWindow(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.windowDone = resolve;
      this.windowTimer = setTimeout(resolve, ms);
    });
  }

  private reject(version: number | undefined, problem: string, message: string): void {
    const key = `${version ?? '?'}:${problem}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.log.warn({ version, problem, reason: message }, 'configuration rejected; the running configuration is unchanged');
    this.send(version ?? 0, 'rejected', `${problem}: ${message}`);
  }

  private send(version: number, state: ConfigReportState, reason?: string): void {
    this.opts.report({ v: 1, gw: this.opts.gatewayId, version, state, ts: this.now(), running: this.version, ...(reason !== undefined && { reason }) });
  }
}
