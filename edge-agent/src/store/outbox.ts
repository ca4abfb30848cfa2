import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { encodeEvent, encodeReading, encodeStreamMessage, EventType, type GatewayEvent, type Reading, type Stream } from '@cityedge/contract';
import { openOutboxDatabase, type StartupCheck } from './outbox-schema.js';
import { prepareStatements, type OutboxStatements } from './outbox-sql.js';
import { OverflowMonitor, type StreamCounts } from './overflow-monitor.js';
import { CapacityPolicy, copyState, emptyState, totalBytes, totalRows, type Encoded, type OutboxState, type PendingReadings } from './capacity-policy.js';
import { StorageFailure } from './storage-failure.js';

export interface OutboxOptions {
  /** SQLite file. */
  path: string;
  gatewayId: string;
  maxRows: number;
  maxBytes: number;
  telemetryOverflow: 'drop-oldest' | 'drop-newest';
  /** Group-commit linger for readings: what a power cut can lose. */
  commitIntervalMs: number;
  logger: Logger;
  now?: () => number;
  /** Verification at start; default "integrity" (see docs in the report: ~1 s per 100 MB). */
  startupCheck?: StartupCheck;
  /** Hard cap on the file (PRAGMA max_page_count); hitting it behaves like a full disk. */
  maxFileBytes?: number;
  /** Readings kept in memory while the file cannot be written; default 100,000. */
  maxPendingReadings?: number;
  /** Events kept in memory while the file cannot be written; default 10,000. */
  maxPendingEvents?: number;
  /** Least time between two buffer.overflow events of one episode; default 60 s. */
  overflowEventIntervalMs?: number;
  /** Retry delays after a failed write; default 100 ms doubling to 5 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** After a full disk, how long the lowered limit holds before space is probed again; default 60 s. */
  diskProbeMs?: number;
}

export interface OutboxStats {
  /** Committed rows (events and readings) not yet acknowledged, including those in batches. */
  backlogRows: number;
  backlogBytes: number;
  /** Rows accepted and not yet committed. */
  pending: number;
  inflightBatches: number;
  /** Everything dropped: by the overflow policy (persisted, since the file was created) and in memory during an outage. */
  dropped: StreamCounts;
  /** Rows handed to appendReadings/appendEvent since start. */
  appended: StreamCounts;
  /** Rows deleted after the broker acknowledged them, since start. */
  acked: StreamCounts;
  storageErrors: number;
  storageFailing: boolean;
  overflowing: boolean;
  nextSeq: number;
  /** Result of the startup check: "ok", "skipped", or what was wrong with the file set aside. */
  check: string;
}

/** A message ready to publish: the rows first..last of one stream under one sequence number. */
export interface Batch {
  seq: number;
  stream: Stream;
  count: number;
  payload: string;
}

interface BatchRecord extends Batch {
  firstId: number;
  lastId: number;
  bytes: number;
}

const STREAMS: readonly Stream[] = ['events', 'telemetry'];
/** Pending readings that trigger a commit without waiting for the linger. */
export const IMMEDIATE_COMMIT_ROWS = 5000;

/**
 * The durable outbox: the single source of truth for everything leaving the gateway. Producers
 * append; a row counts as buffered once its transaction is committed (synchronous=FULL, so it
 * survives a power cut); only ack() after the broker's PUBACK deletes it. Batches get gap-free
 * sequence numbers committed together with their row range before they are handed out, so an
 * unacknowledged message is always resent with the same seq and the same bytes.
 */
export class Outbox {
  private readonly opts: OutboxOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private db: Database.Database | undefined;
  private st: OutboxStatements | undefined;
  private capacity!: CapacityPolicy;
  private s: OutboxState = emptyState();
  private persistedDropped: StreamCounts = { telemetry: 0, events: 0 };
  private readonly batches = new Map<number, BatchRecord>();
  private readonly ackQueue = new Set<number>();
  private pendT: PendingReadings = { json: [], bytes: [], sum: 0 };
  private pendE: Encoded[] = [];
  private readonly appended: StreamCounts = { telemetry: 0, events: 0 };
  private readonly acked: StreamCounts = { telemetry: 0, events: 0 };
  private storageErrors = 0;
  private check = 'not started';
  private readonly listeners = new Set<() => void>();
  private readonly overflow: OverflowMonitor;
  private readonly failure: StorageFailure;
  private commitTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private ackImmediate: NodeJS.Immediate | undefined;

  constructor(opts: OutboxOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.overflow = new OverflowMonitor({ intervalMs: opts.overflowEventIntervalMs ?? 60_000, policy: opts.telemetryOverflow, now: this.now });
    this.failure = new StorageFailure({ now: this.now, retryMinMs: opts.retryMinMs ?? 100, retryMaxMs: opts.retryMaxMs ?? 5000, diskProbeMs: opts.diskProbeMs ?? 60_000 });
  }

  /** Opens the file (creating or migrating it), verifies it and loads counters and unacked batches. Throws EDGE_OUTBOX_OPEN. */
  start(): void {
    if (this.db) return;
    const opened = openOutboxDatabase({
      path: this.opts.path,
      check: this.opts.startupCheck ?? 'integrity',
      ...(this.opts.maxFileBytes !== undefined && { maxFileBytes: this.opts.maxFileBytes }),
      freshSeqAfterCorruption: this.now,
      logger: this.log,
      now: this.now,
    });
    this.db = opened.db;
    this.st = prepareStatements(opened.db);
    this.capacity = new CapacityPolicy(() => this.s, this.st, this.opts.telemetryOverflow);
    this.check = opened.check;
    this.load();
    this.log.info(
      { path: this.opts.path, check: opened.check, checkMs: opened.checkMs, backlogRows: this.backlogRows(), backlogBytes: this.backlogBytes(), inflightBatches: this.batches.size, nextSeq: this.s.nextSeq },
      'outbox open',
    );
    if (opened.quarantined) {
      const q = opened.quarantined;
      this.appendEvent({
        type: EventType.bufferCorrupt,
        ts: this.now(),
        severity: 'alarm',
        message: `the outbox file was corrupt and was moved to ${q.path}; its unsent data is not forwarded`,
        data: { movedTo: q.path, reason: q.reason, previousNextSeq: q.previousNextSeq, nextSeq: this.s.nextSeq },
      });
    }
  }

  /** Commits what is pending and closes the file. */
  stop(): void {
    if (!this.db) return;
    this.clearTimers();
    this.flushAcks();
    this.commit();
    this.clearTimers();
    const lost = this.pendT.json.length + this.pendE.length;
    if (lost > 0) {
      this.s.dropped.telemetry += this.pendT.json.length;
      this.s.dropped.events += this.pendE.length;
      this.log.error({ readings: this.pendT.json.length, events: this.pendE.length }, 'outbox closed while its file could not be written: uncommitted data is lost');
    }
    try {
      this.db.close();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'closing the outbox file failed');
    }
    this.db = undefined;
    this.st = undefined;
    this.batches.clear();
    this.ackQueue.clear();
    this.pendT = { json: [], bytes: [], sum: 0 };
    this.pendE = [];
  }

  /** Buffers readings in memory; they are committed within commitIntervalMs (at once from 5,000 pending). */
  appendReadings(readings: readonly Reading[]): void {
    this.appended.telemetry += readings.length;
    if (!this.db) {
      this.dropClosed('telemetry', readings.length);
      return;
    }
    for (const r of readings) {
      const json = encodeReading(r);
      const bytes = Buffer.byteLength(json);
      this.pendT.json.push(json);
      this.pendT.bytes.push(bytes);
      this.pendT.sum += bytes;
    }
    if (this.failure.failing) this.capPending();
    else if (this.pendT.json.length >= IMMEDIATE_COMMIT_ROWS) this.commit();
    else this.commitTimer ??= setTimeout(() => this.commit(), this.opts.commitIntervalMs);
  }

  /** Commits an event (with any pending readings) at once. */
  appendEvent(event: GatewayEvent): void {
    this.appended.events++;
    if (!this.db) {
      this.dropClosed('events', 1);
      return;
    }
    const json = encodeEvent(event);
    this.pendE.push({ json, bytes: Buffer.byteLength(json) });
    if (this.failure.failing) this.capPending();
    else this.commit();
  }

  /** Commits whatever is pending now. */
  flush(): void {
    if (!this.db) return;
    this.flushAcks();
    this.commit();
  }

  /** Listener called after each commit that added rows. Returns an unsubscribe function. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): OutboxStats {
    return {
      backlogRows: this.backlogRows(),
      backlogBytes: this.backlogBytes(),
      pending: this.pendT.json.length + this.pendE.length,
      inflightBatches: this.batches.size - this.ackQueue.size,
      dropped: { ...this.s.dropped },
      appended: { ...this.appended },
      acked: { ...this.acked },
      storageErrors: this.storageErrors,
      storageFailing: this.failure.failing,
      overflowing: this.overflow.active,
      nextSeq: this.s.nextSeq,
      check: this.check,
    };
  }

  /** Batches handed out and not acknowledged yet, in seq order: resend these first after a reconnect or restart. */
  inflight(): Batch[] {
    const out: Batch[] = [];
    for (const b of this.batches.values()) if (!this.ackQueue.has(b.seq)) out.push(b);
    return out;
  }

  /**
   * Groups the next rows into at most maxMessages batches of at most maxReadings rows, events
   * first, and commits their seqs and row ranges durably before returning them.
   */
  takeBatches(maxMessages: number, maxReadings: number): Batch[] {
    const db = this.db;
    const st = this.st;
    if (!db || !st || maxMessages < 1 || maxReadings < 1) return [];
    const snap = this.snapshot();
    const made: BatchRecord[] = [];
    try {
      db.transaction(() => {
        for (const stream of STREAMS) {
          const t = this.s.t[stream];
          while (made.length < maxMessages) {
            const rows = st.streams[stream].after.all(t.cursor, maxReadings);
            const first = rows[0];
            const last = rows[rows.length - 1];
            if (!first || !last) break;
            const seq = this.s.nextSeq++;
            const bodies = new Array<string>(rows.length);
            let bytes = 0;
            for (let i = 0; i < rows.length; i++) {
              const row = rows[i] as [number, string, number];
              bodies[i] = row[1];
              bytes += row[2];
            }
            st.insertBatch.run(seq, stream, first[0], last[0], rows.length, bytes);
            t.cursor = last[0];
            made.push({ seq, stream, count: rows.length, payload: encodeStreamMessage(stream, this.opts.gatewayId, seq, bodies), firstId: first[0], lastId: last[0], bytes });
          }
        }
        if (made.length > 0) st.setMeta.run(this.s.nextSeq, 'next_seq');
      })();
    } catch (err) {
      this.s = snap;
      this.storageFailed(err, 'take batches');
      return [];
    }
    for (const b of made) this.batches.set(b.seq, b);
    return made;
  }

  /** The broker has the batch: its rows go. Acks are coalesced into one transaction per turn of the event loop. */
  ack(seq: number): void {
    if (!this.batches.has(seq) || this.ackQueue.has(seq)) return;
    this.ackQueue.add(seq);
    this.ackImmediate ??= setImmediate(() => {
      this.ackImmediate = undefined;
      if (this.flushAcks() && (this.overflow.active || this.failure.failing)) this.commit();
    });
  }

  private load(): void {
    const st = this.st as OutboxStatements;
    for (const stream of STREAMS) {
      const totals = st.streams[stream].totals.get() ?? { n: 0, bytes: 0, maxId: 0 };
      this.s.t[stream] = { rows: totals.n, bytes: totals.bytes, nextId: totals.maxId + 1, cursor: 0 };
    }
    this.s.nextSeq = Number(st.getMeta.get('next_seq') ?? 1);
    this.s.dropped = { telemetry: Number(st.getMeta.get('dropped_telemetry') ?? 0), events: Number(st.getMeta.get('dropped_events') ?? 0) };
    this.persistedDropped = { ...this.s.dropped };
    for (const b of st.batches.all()) {
      const bodies = st.streams[b.stream].range.all(b.first_id, b.last_id);
      if (bodies.length !== b.count) this.log.error({ seq: b.seq, expected: b.count, found: bodies.length }, 'an unacknowledged batch lost rows; resending what is left');
      const t = this.s.t[b.stream];
      t.cursor = Math.max(t.cursor, b.last_id);
      t.nextId = Math.max(t.nextId, b.last_id + 1);
      this.s.nextSeq = Math.max(this.s.nextSeq, b.seq + 1);
      const payload = encodeStreamMessage(b.stream, this.opts.gatewayId, b.seq, bodies);
      this.batches.set(b.seq, { seq: b.seq, stream: b.stream, count: bodies.length, payload, firstId: b.first_id, lastId: b.last_id, bytes: b.bytes });
    }
  }

  /** One transaction: pending events, then pending readings, under the overflow policy. */
  private commit(): boolean {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    const db = this.db;
    if (!db) return false;
    const recovery = this.failure.recoveryEvent();
    const limits = this.failure.limits(this.opts.maxRows, this.opts.maxBytes);
    const overLimit = this.backlogRows() > limits.rows || this.backlogBytes() > limits.bytes;
    if (this.pendT.json.length === 0 && this.pendE.length === 0 && !recovery && !overLimit && !this.overflow.active) return true;
    const snap = this.snapshot();
    const overflowSnap = this.overflow.snapshot();
    const events = recovery ? [encode(recovery), ...this.pendE] : this.pendE;
    let inserted = 0;
    try {
      db.transaction(() => {
        const before = { ...this.s.dropped };
        if (overLimit) this.capacity.shrinkTo(limits);
        inserted += this.capacity.placeEvents(events, limits);
        inserted += this.capacity.placeReadings(this.pendT, limits);
        const drops = { telemetry: this.s.dropped.telemetry - before.telemetry, events: this.s.dropped.events - before.events };
        const usage = { rows: this.backlogRows(), bytes: this.backlogBytes(), maxRows: limits.rows, maxBytes: limits.bytes };
        const notice = this.overflow.afterCommit(drops, usage, this.s.dropped);
        if (notice) {
          const t0 = this.s.dropped.telemetry;
          const e0 = this.s.dropped.events;
          inserted += this.capacity.placeEvents([encode(notice)], limits);
          this.overflow.carry({ telemetry: this.s.dropped.telemetry - t0, events: this.s.dropped.events - e0 });
        }
        this.persistDropped();
      })();
    } catch (err) {
      this.s = snap;
      this.overflow.restore(overflowSnap);
      this.storageFailed(err, 'commit');
      return false;
    }
    this.persistedDropped = { ...this.s.dropped };
    this.pendT = { json: [], bytes: [], sum: 0 };
    this.pendE = [];
    if (recovery) {
      this.log.warn({ event: recovery.data }, 'outbox file writable again');
      this.failure.succeeded();
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    if (inserted > 0) this.notify();
    return true;
  }

  private persistDropped(): void {
    const st = this.st as OutboxStatements;
    if (this.s.dropped.telemetry !== this.persistedDropped.telemetry) st.setMeta.run(this.s.dropped.telemetry, 'dropped_telemetry');
    if (this.s.dropped.events !== this.persistedDropped.events) st.setMeta.run(this.s.dropped.events, 'dropped_events');
  }

  /** Deletes acknowledged batches in one transaction. */
  private flushAcks(): boolean {
    const db = this.db;
    const st = this.st;
    if (!db || !st || this.ackQueue.size === 0) return true;
    const seqs = [...this.ackQueue];
    // A delete lost in a power cut only means the batch is sent again with the same seq, which
    // consumers drop: it need not wait for an fsync, so it does not stall the event loop.
    try {
      db.pragma('synchronous = NORMAL');
      db.transaction(() => {
        for (const seq of seqs) {
          const b = this.batches.get(seq) as BatchRecord;
          st.streams[b.stream].deleteRange.run(b.firstId, b.lastId);
          st.deleteBatch.run(seq);
        }
      })();
    } catch (err) {
      this.storageFailed(err, 'ack');
      return false;
    } finally {
      try {
        db.pragma('synchronous = FULL');
      } catch {
        // reported by the next write
      }
    }
    for (const seq of seqs) {
      const b = this.batches.get(seq) as BatchRecord;
      const t = this.s.t[b.stream];
      t.rows -= b.count;
      t.bytes -= b.bytes;
      this.acked[b.stream] += b.count;
      this.batches.delete(seq);
      this.ackQueue.delete(seq);
    }
    return true;
  }

  private storageFailed(err: unknown, op: string): void {
    this.storageErrors++;
    const f = this.failure.failed(err, { rows: this.backlogRows(), bytes: this.backlogBytes() });
    const fields = { op, code: f.code, err: f.message, pending: this.pendT.json.length + this.pendE.length, retryInMs: f.retryInMs };
    if (f.first) this.log.error(fields, 'outbox write failed; keeping data in memory and retrying');
    else if (f.log) this.log.warn({ ...fields, errors: this.storageErrors }, 'outbox writes still failing');
    this.capPending();
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.flushAcks()) this.commit();
    }, f.retryInMs);
  }

  /** While the file cannot be written, memory holds a bounded amount; past it the overflow policy applies. */
  private capPending(): void {
    const maxReadings = this.opts.maxPendingReadings ?? 100_000;
    if (this.pendT.json.length > maxReadings) {
      let n: number;
      if (this.opts.telemetryOverflow === 'drop-newest') {
        n = this.pendT.json.length - maxReadings;
        this.pendT.json.length = maxReadings;
        for (const b of this.pendT.bytes.splice(maxReadings)) this.pendT.sum -= b;
      } else {
        n = this.pendT.json.length - Math.floor(maxReadings * 0.9);
        this.pendT.json.splice(0, n);
        for (const b of this.pendT.bytes.splice(0, n)) this.pendT.sum -= b;
      }
      this.s.dropped.telemetry += n;
      this.failure.countDropped('telemetry', n);
    }
    const maxEvents = this.opts.maxPendingEvents ?? 10_000;
    if (this.pendE.length > maxEvents) {
      const n = this.pendE.length - maxEvents;
      this.pendE.splice(0, n);
      this.s.dropped.events += n;
      this.failure.countDropped('events', n);
    }
  }

  private dropClosed(stream: Stream, n: number): void {
    this.s.dropped[stream] += n;
    this.log.warn({ stream, rows: n }, 'append to a closed outbox: dropped');
  }

  private notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'outbox commit listener threw');
      }
    }
  }

  private snapshot(): OutboxState {
    return copyState(this.s);
  }

  private backlogRows(): number {
    return totalRows(this.s);
  }

  private backlogBytes(): number {
    return totalBytes(this.s);
  }

  private clearTimers(): void {
    clearTimeout(this.commitTimer);
    clearTimeout(this.retryTimer);
    if (this.ackImmediate) clearImmediate(this.ackImmediate);
    this.commitTimer = undefined;
    this.retryTimer = undefined;
    this.ackImmediate = undefined;
  }
}

function encode(event: GatewayEvent): Encoded {
  const json = encodeEvent(event);
  return { json, bytes: Buffer.byteLength(json) };
}
