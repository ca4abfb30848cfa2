import type { Logger } from 'pino';
import { dayOf } from '../db/telemetry-partitions.js';
import type { TelemetryRepo } from '../repos/telemetry-repo.js';

export interface TelemetryRetentionOptions {
  /** Days of partitions created ahead of today (default 7), so inserts never wait for DDL. */
  aheadDays?: number;
  /** Keep this many whole days before today; older partitions are dropped. Undefined: keep everything. */
  retentionDays?: number;
  /** How often the task runs (default 1 h); it also runs at start. */
  intervalMs?: number;
  now?: () => number;
}

/**
 * The registry's telemetry partition maintenance on PostgreSQL (nothing to do on SQLite): creates
 * the day partitions ahead and drops those past retention. Safe beside ingest workers (they create
 * a missing day themselves) and in several registries at once.
 */
export class TelemetryRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly repo: TelemetryRepo,
    private readonly logger: Logger,
    private readonly opts: TelemetryRetentionOptions = {},
  ) {}

  /** One pass: returns the days created ahead up to and the days dropped. */
  async runOnce(): Promise<{ dropped: number[] }> {
    const today = dayOf((this.opts.now ?? Date.now)());
    await this.repo.ensurePartitions(today - 1, today + (this.opts.aheadDays ?? 7));
    const keep = this.opts.retentionDays;
    const dropped = keep === undefined ? [] : await this.repo.dropPartitionsBefore(today - keep);
    if (dropped.length > 0) this.logger.info({ days: dropped.length, before: new Date((today - keep!) * 86_400_000).toISOString().slice(0, 10) }, 'telemetry partitions past retention dropped');
    return { dropped };
  }

  start(): void {
    const tick = () => {
      this.running ??= this.runOnce()
        .then(() => undefined, (err: unknown) => this.logger.error({ err }, 'telemetry partition maintenance failed; retried at the next run'))
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.opts.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
