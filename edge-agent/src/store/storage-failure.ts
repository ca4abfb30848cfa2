import { EventType, type GatewayEvent } from '@cityedge/contract';
import { describeError } from './outbox-errors.js';
import type { StreamCounts } from './overflow-monitor.js';

interface Outage {
  since: number;
  errors: number;
  first: { code: string; message: string };
  last: { code: string; message: string };
  /** Rows that could not be kept: dropped from memory while the file could not be written. */
  dropped: StreamCounts;
  /** Rows that waited in memory during the outage and were committed. */
  held: StreamCounts;
  /** Room (bytes) the outbox saw when its last attempt failed. */
  roomAtFailure: number;
  nextAttemptAt: number;
  backoffMs: number;
}

export interface OutageSummary {
  errors: number;
  durationMs: number;
  dropped: StreamCounts;
  held: StreamCounts;
}

/**
 * Tracks an outage of the outbox file (disk full, I/O errors): counts failed writes and what
 * became of the rows that arrived meanwhile, decides when to try again, and describes the outage
 * in one `buffer.storage_error` event committed with the write that ends it.
 *
 * A full disk never changes what the outbox keeps: committed rows stay until acknowledged or
 * dropped by the overflow policy at the configured limits. Attempts are cheap to decide on: the
 * outbox measures its room (free pages, disk space) every probe and tries again as soon as there
 * is more room than when the last attempt failed; otherwise (an I/O error with room to spare)
 * attempts back off from the probe interval to `backoffMaxMs`.
 */
export class StorageFailure {
  private outage: Outage | undefined;
  private lastLogAt = -Infinity;

  constructor(
    private readonly opts: { now: () => number; probeMs: number; backoffMaxMs: number },
  ) {}

  get failing(): boolean {
    return this.outage !== undefined;
  }

  /** Records a failed write at `room` bytes of room; `first` when it starts an outage. */
  failed(err: unknown, room: number): { first: boolean; code: string; message: string; errors: number } {
    const now = this.opts.now();
    const d = describeError(err);
    const first = this.outage === undefined;
    const o = (this.outage ??= {
      since: now,
      errors: 0,
      first: d,
      last: d,
      dropped: { telemetry: 0, events: 0 },
      held: { telemetry: 0, events: 0 },
      roomAtFailure: room,
      nextAttemptAt: now,
      backoffMs: this.opts.probeMs,
    });
    o.errors++;
    o.last = d;
    o.roomAtFailure = room;
    o.nextAttemptAt = now + o.backoffMs;
    o.backoffMs = Math.min(this.opts.backoffMaxMs, o.backoffMs * 2);
    if (first) this.lastLogAt = now;
    return { first, code: d.code, message: d.message, errors: o.errors };
  }

  /** While an outage lasts, true once every 30 s: time to log how it goes. */
  reminderDue(): { errors: number; since: number; lastError: string; dropped: StreamCounts } | undefined {
    const o = this.outage;
    const now = this.opts.now();
    if (!o || now - this.lastLogAt < 30_000) return undefined;
    this.lastLogAt = now;
    return { errors: o.errors, since: o.since, lastError: o.last.code, dropped: { ...o.dropped } };
  }

  /** Whether a write is worth trying: more room than at the last failure, or its backoff is over. */
  mayAttempt(room: number): boolean {
    const o = this.outage;
    return !o || room > o.roomAtFailure || this.opts.now() >= o.nextAttemptAt;
  }

  /** Rows dropped from memory during the outage (they are not kept). */
  countDropped(d: StreamCounts): void {
    if (!this.outage) return;
    this.outage.dropped.telemetry += d.telemetry;
    this.outage.dropped.events += d.events;
  }

  /** Rows from memory committed while the outage goes on (room freed by acknowledged rows). */
  countHeld(events: number, readings: number): void {
    if (!this.outage) return;
    this.outage.held.events += events;
    this.outage.held.telemetry += readings;
  }

  /** The event to commit with the write that ends the outage, which also commits `last` rows from memory. */
  recoveryEvent(last: { events: number; readings: number }): GatewayEvent | undefined {
    const o = this.outage;
    if (!o) return undefined;
    const now = this.opts.now();
    const held = { telemetry: o.held.telemetry + last.readings, events: o.held.events + last.events };
    const lost = o.dropped.telemetry + o.dropped.events > 0;
    const durationMs = now - o.since;
    return {
      type: EventType.bufferStorageError,
      ts: now,
      severity: lost ? 'alarm' : 'warning',
      message:
        `outbox writes failed ${o.errors} times over ${durationMs} ms (${o.last.code}); ` +
        (lost ? `${o.dropped.telemetry} readings and ${o.dropped.events} events could not be kept; ` : 'nothing was lost; ') +
        `${held.telemetry} readings and ${held.events} events waited in memory and were kept; nothing committed before was removed`,
      data: {
        errors: o.errors,
        since: o.since,
        durationMs,
        firstError: o.first.code,
        lastError: o.last.code,
        lastMessage: o.last.message,
        droppedTelemetry: o.dropped.telemetry,
        droppedEvents: o.dropped.events,
        keptTelemetry: held.telemetry,
        keptEvents: held.events,
      },
    };
  }

  /** The write carrying the recovery event committed: the outage is over. */
  succeeded(last: { events: number; readings: number }): OutageSummary | undefined {
    const o = this.outage;
    this.outage = undefined;
    if (!o) return undefined;
    return {
      errors: o.errors,
      durationMs: this.opts.now() - o.since,
      dropped: o.dropped,
      held: { telemetry: o.held.telemetry + last.readings, events: o.held.events + last.events },
    };
  }
}
