import { EventType, type GatewayEvent } from '@cityedge/contract';
import { describeError } from './outbox-errors.js';

/** Share of the current backlog kept when the disk fills up (SQLITE_FULL). */
const DISK_FULL_KEEP = 0.9;

interface Outage {
  since: number;
  errors: number;
  first: { code: string; message: string };
  last: { code: string; message: string };
  dropped: { telemetry: number; events: number };
}

/**
 * Tracks an outage of the outbox file: failed writes are counted, retried with capped doubling
 * delays, and reported as one `buffer.storage_error` event once a write succeeds again. A full
 * disk (SQLITE_FULL) also lowers the outbox's effective limits to 90% of what it holds, so the
 * overflow policy frees pages the next commit (and the batches of the forwarder) can use; the
 * lowered limit is lifted after `diskProbeMs` to find out whether space came back (if the disk is
 * still full by then, the same limit comes back rather than a lower one).
 */
export class StorageFailure {
  private outage: Outage | undefined;
  private retryMs: number;
  private diskLimit: { rows: number; bytes: number; since: number; lifted: boolean } | undefined;
  private lastLogAt = 0;

  constructor(
    private readonly opts: { now: () => number; retryMinMs: number; retryMaxMs: number; diskProbeMs: number },
  ) {
    this.retryMs = opts.retryMinMs;
  }

  get failing(): boolean {
    return this.outage !== undefined;
  }

  /** Records a failed write; returns the delay before the next attempt and whether to log it loudly. */
  failed(err: unknown, backlog: { rows: number; bytes: number }): { retryInMs: number; first: boolean; log: boolean; code: string; message: string } {
    const now = this.opts.now();
    const d = describeError(err);
    const first = this.outage === undefined;
    if (!this.outage) this.outage = { since: now, errors: 0, first: d, last: d, dropped: { telemetry: 0, events: 0 } };
    this.outage.errors++;
    this.outage.last = d;
    if (d.code === 'SQLITE_FULL') {
      const prev = this.diskLimit;
      if (prev?.lifted && backlog.bytes > prev.bytes) {
        // grew past the limit of the last episode and the disk is still full: the same limit again
        this.diskLimit = { ...prev, since: now, lifted: false };
      } else {
        const rows = Math.floor(Math.min(backlog.rows, prev?.rows ?? Infinity) * DISK_FULL_KEEP);
        const bytes = Math.floor(Math.min(backlog.bytes, prev?.bytes ?? Infinity) * DISK_FULL_KEEP);
        this.diskLimit = { rows, bytes, since: now, lifted: false };
      }
    }
    const retryInMs = this.retryMs;
    this.retryMs = Math.min(this.opts.retryMaxMs, this.retryMs * 2);
    const log = first || now - this.lastLogAt >= 30_000;
    if (log) this.lastLogAt = now;
    return { retryInMs, first, log, code: d.code, message: d.message };
  }

  /** Data dropped because it could not be kept in memory during the outage. */
  countDropped(stream: 'telemetry' | 'events', n: number): void {
    if (this.outage) this.outage.dropped[stream] += n;
  }

  /** The limits in force: the configured ones, lowered while the disk is full. */
  limits(maxRows: number, maxBytes: number): { rows: number; bytes: number } {
    const d = this.diskLimit;
    if (d && !d.lifted && !this.outage && this.opts.now() - d.since >= this.opts.diskProbeMs) d.lifted = true;
    if (!d || d.lifted) return { rows: maxRows, bytes: maxBytes };
    return { rows: Math.min(maxRows, d.rows), bytes: Math.min(maxBytes, d.bytes) };
  }

  /** The event to commit with the first write that works again. */
  recoveryEvent(): GatewayEvent | undefined {
    const o = this.outage;
    if (!o) return undefined;
    const now = this.opts.now();
    const lost = o.dropped.telemetry + o.dropped.events;
    return {
      type: EventType.bufferStorageError,
      ts: now,
      severity: lost > 0 ? 'alarm' : 'warning',
      message: `outbox writes failed ${o.errors} times for ${now - o.since} ms (${o.last.code}); ${lost > 0 ? `${o.dropped.telemetry} readings and ${o.dropped.events} events could not be kept` : 'nothing was lost'}`,
      data: {
        errors: o.errors,
        since: o.since,
        durationMs: now - o.since,
        firstError: o.first.code,
        lastError: o.last.code,
        lastMessage: o.last.message,
        droppedTelemetry: o.dropped.telemetry,
        droppedEvents: o.dropped.events,
        diskFullLimitRows: this.diskLimit && !this.diskLimit.lifted ? this.diskLimit.rows : undefined,
      },
    };
  }

  /** A write succeeded: the outage (if any) is over. */
  succeeded(): void {
    this.outage = undefined;
    this.retryMs = this.opts.retryMinMs;
  }
}
