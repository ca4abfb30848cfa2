import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { encodeEvent, encodeReading, encodeStreamMessage, EventType, type GatewayEvent, type Reading, type Stream } from '@cityedge/contract';
import { openOutboxDatabase } from './outbox-schema.js';
import { prepareStatements, type BatchRow, type OutboxStatements } from './outbox-sql.js';
import { OverflowMonitor, type StreamCounts } from './overflow-monitor.js';
import { CapacityPolicy, copyState, emptyState, totalBytes, totalRows, type Encoded, type OutboxState, type PendingReadings } from './capacity-policy.js';
import { DiskSpace } from './disk-space.js';
import { DEFAULT_MAX_PENDING_BYTES, type Batch, type OutboxOptions, type OutboxStats } from './outbox-options.js';
import { PendingRows, type PendingPart } from './pending-rows.js';
import { SpaceReclaimer } from './space-reclaimer.js';
import { StorageFailure } from './storage-failure.js';

export type { Batch, OutboxOptions, OutboxStats } from './outbox-options.js';

interface BatchRecord extends Batch {
  firstId: number;
  lastId: number;
  bytes: number;
}

/** Room kept free in a commit made under a full disk for the events the commit itself may add (overflow, recovery). */
const NOTICE_ROOM = 8192;

const STREAMS: readonly Stream[] = ['events', 'telemetry'];
/** Pending readings that trigger a commit without waiting for the linger. */
export const IMMEDIATE_COMMIT_ROWS = 5000;
/**
 * Default longest wait of an acknowledged batch for a transaction to delete it in (the next
 * commit or takeBatches); only then does it get a transaction of its own.
 */
export const ACK_LINGER_MS = 5000;

/** Readings a commit has just inserted as rows firstId.. in order, all of them the next to be batched. */
interface FreshRows {
  firstId: number;
  readings: PendingReadings;
}

/** How many batches a consumer (the drain) would take right now, asked inside each commit; undefined: none. */
export type BatchDemand = () => { maxMessages: number; maxReadings: number } | undefined;

/**
 * The durable outbox: the single source of truth for everything leaving the gateway. Producers
 * append; a row counts as buffered once its transaction is committed (synchronous=FULL, so it
 * survives a power cut); only ack() after the broker's PUBACK deletes it, or the overflow policy
 * at the configured limits. Batches get gap-free sequence numbers committed together with their
 * row range before they are handed out, so an unacknowledged message is always resent with the
 * same seq and the same bytes.
 *
 * When the file cannot be written (a full disk, I/O errors) nothing committed is touched: new rows
 * wait in memory up to `maxPendingBytes` (then they are dropped by the store's policy and counted),
 * deletes after PUBACK go on (DiskSpace keeps them possible), room is measured every `probeMs`
 * and whatever fits is committed as soon as it fits; the write that ends the outage carries a
 * `buffer.storage_error` event saying what was and was not kept.
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
  /** Batches made by a commit for the drain (batchAhead) and not taken yet. */
  private ready: BatchRecord[] = [];
  private demand: BatchDemand | undefined;
  private readonly ackQueue = new Set<number>();
  /** Rows and bytes of the batches in ackQueue: acknowledged, not deleted yet, no longer waiting to be forwarded. */
  private readonly ackedWaiting = { rows: 0, bytes: 0 };
  private readonly pending = new PendingRows();
  private readonly appended: StreamCounts = { telemetry: 0, events: 0 };
  private readonly acked: StreamCounts = { telemetry: 0, events: 0 };
  private storageErrors = 0;
  private check = 'not started';
  private readonly listeners = new Set<() => void>();
  private readonly overflow: OverflowMonitor;
  private readonly failure: StorageFailure;
  private readonly space: DiskSpace;
  private readonly reclaimer: SpaceReclaimer;
  private commitTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private ackImmediate: NodeJS.Immediate | undefined;
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(opts: OutboxOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.overflow = new OverflowMonitor({ intervalMs: opts.overflowEventIntervalMs ?? 60_000, policy: opts.telemetryOverflow, now: this.now });
    this.failure = new StorageFailure({ now: this.now, probeMs: this.probeMs, backoffMaxMs: opts.backoffMaxMs ?? 5000 });
    this.space = new DiskSpace({ path: opts.path, logger: this.log, now: this.now, ...(opts.reserveBytes !== undefined && { reserveBytes: opts.reserveBytes }) });
    this.reclaimer = new SpaceReclaimer({ logger: this.log, ...opts.reclaim }, { backlogBytes: () => this.backlogBytes(), busy: () => this.failure.failing });
  }

  private get probeMs(): number {
    return this.opts.probeMs ?? 250;
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
    this.space.start(opened.db);
    this.reclaimer.start(opened.db);
    this.log.info(
      { path: this.opts.path, check: opened.check, checkMs: opened.checkMs, backlogRows: this.backlogRows(), backlogBytes: this.backlogBytes(), inflightBatches: this.batches.size, nextSeq: this.s.nextSeq, reserveHeld: this.space.reserveHeld },
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
    this.reclaimer.stop();
    this.flushAcks();
    this.commit(true);
    this.clearTimers();
    const readings = this.pending.readings.json.length;
    const events = this.pending.events.length;
    if (readings + events > 0) {
      this.s.dropped.telemetry += readings;
      this.s.dropped.events += events;
      this.log.error({ readings, events }, 'outbox closed while its file could not be written: uncommitted data is lost');
    }
    this.log.info({ appended: this.appended, acked: this.acked, dropped: this.s.dropped, backlogRows: this.backlogRows(), nextSeq: this.s.nextSeq }, 'outbox closed');
    try {
      this.db.close();
    } catch (err) {
      this.log.warn({ err }, 'closing the outbox file failed');
    }
    this.db = undefined;
    this.st = undefined;
    this.batches.clear();
    this.ready = [];
    this.ackQueue.clear();
    this.ackedWaiting.rows = 0;
    this.ackedWaiting.bytes = 0;
    this.pending.clear();
  }

  /**
   * Lets each commit also make the batches `demand` asks for, in the same transaction, and the
   * deletes of acknowledged batches go into it too: one transaction and one fsync per poll cycle
   * instead of three transactions (commit, take batches, delete) and two fsyncs. takeBatches()
   * hands out those batches first, without a transaction.
   */
  batchAhead(demand: BatchDemand | undefined): void {
    this.demand = demand;
  }

  /** Buffers readings in memory; they are committed within commitIntervalMs (at once from 5,000 pending). */
  appendReadings(readings: readonly Reading[]): void {
    this.appended.telemetry += readings.length;
    if (!this.db) {
      this.dropClosed('telemetry', readings.length);
      return;
    }
    for (const r of readings) this.pending.addReading(encodeReading(r));
    if (this.failure.failing) this.capPending();
    else if (this.pending.readings.json.length >= IMMEDIATE_COMMIT_ROWS) this.commit();
    else this.commitTimer ??= setTimeout(() => this.commit(), this.opts.commitIntervalMs);
  }

  /** Commits an event (with any pending readings) at once, or as soon as there is room for it. */
  appendEvent(event: GatewayEvent): void {
    this.appended.events++;
    if (!this.db) {
      this.dropClosed('events', 1);
      return;
    }
    this.pending.addEvent(encode(event));
    if (this.failure.failing) this.capPending();
    this.commit();
  }

  /** Commits whatever is pending now (while the file cannot be written: whatever fits). */
  flush(): void {
    if (!this.db) return;
    this.flushAcks();
    this.commit();
  }

  /**
   * Sets the hard cap on the file (PRAGMA max_page_count) while running; undefined lifts it.
   * Past the cap writes fail as on a full disk, so this also makes a full disk and its end in tests.
   */
  limitFileBytes(bytes: number | undefined): void {
    const db = this.db;
    if (!db) return;
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    db.pragma(`max_page_count = ${bytes === undefined ? 0xfffffffe : Math.max(16, Math.ceil(bytes / pageSize))}`);
  }

  /** Listener called after each commit that added rows, and while the file cannot be written after each probe that leaves unsent rows. Returns an unsubscribe function. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One step of giving file space back (normally on a timer); 'more' while there is more to do. */
  reclaimStep(): 'idle' | 'more' {
    return this.reclaimer.step();
  }

  /** Lets go of SQLite's page cache (it fills up with a backlog's pages); it refills with the few hot ones. */
  releaseCache(): void {
    try {
      this.db?.pragma('shrink_memory');
    } catch (err) {
      this.log.warn({ err }, 'cannot release the outbox page cache');
    }
  }

  stats(): OutboxStats {
    return {
      backlogRows: this.backlogRows() - this.ackedWaiting.rows,
      backlogBytes: this.backlogBytes() - this.ackedWaiting.bytes,
      pending: this.pending.rows,
      pendingBytes: this.pending.bytes,
      inflightBatches: this.batches.size - this.ackQueue.size,
      dropped: { ...this.s.dropped },
      appended: { ...this.appended },
      acked: { ...this.acked },
      storageErrors: this.storageErrors,
      storageFailing: this.failure.failing,
      diskReserveHeld: this.space.reserveHeld,
      overflowing: this.overflow.active,
      nextSeq: this.s.nextSeq,
      check: this.check,
    };
  }

  /** Batches handed out (or made ahead by a commit) and not acknowledged yet, in seq order: resend these first after a reconnect or restart. */
  inflight(): Batch[] {
    const out: Batch[] = [];
    for (const b of this.batches.values()) if (!this.ackQueue.has(b.seq)) out.push(b);
    return out;
  }

  /** inflight() for a (re)connected drain, which sends them all: batches made ahead are not handed out again by takeBatches(). */
  takeInflight(): Batch[] {
    this.ready = [];
    return this.inflight();
  }

  /**
   * Groups the next rows into at most maxMessages batches of at most maxReadings rows, events
   * first, and commits their seqs and row ranges durably before returning them.
   */
  takeBatches(maxMessages: number, maxReadings: number): Batch[] {
    const db = this.db;
    const st = this.st;
    if (!db || !st || maxMessages < 1 || maxReadings < 1) return [];
    const out: Batch[] = this.ready.splice(0, maxMessages);
    // Nothing committed is unbatched: no transaction (the drain asks after every PUBACK).
    if (out.length === maxMessages || !this.unbatched()) return out;
    const snap = this.snapshot();
    // Acknowledged batches waiting for a transaction are deleted in this one (on low space: one at a time, see flushAcks).
    const acked = this.space.low ? [] : [...this.ackQueue];
    let made: BatchRecord[] = [];
    try {
      db.transaction(() => {
        this.deleteAckedRows(st, acked);
        made = this.makeBatches(st, maxMessages - out.length, maxReadings);
      })();
    } catch (err) {
      this.s = snap;
      this.storageFailed(err, 'take batches');
      return out;
    }
    this.forgetAcked(acked);
    for (const b of made) this.batches.set(b.seq, b);
    if (made.length > 0) this.afterWrite(db, 'take batches');
    return out.concat(made);
  }

  /**
   * Inside a transaction: the next rows as at most maxMessages batches of at most maxReadings
   * rows, events first, with their seqs and ranges written. Telemetry rows the same transaction
   * has just inserted (`fresh`) are taken from memory rather than read back.
   */
  private makeBatches(st: OutboxStatements, maxMessages: number, maxReadings: number, fresh?: FreshRows): BatchRecord[] {
    const made: BatchRecord[] = [];
    for (const stream of STREAMS) {
      const t = this.s.t[stream];
      while (made.length < maxMessages) {
        const [count, firstId, lastId, bytes, joined] = fresh && stream === 'telemetry' ? freshBatch(fresh, t.cursor, maxReadings) : (st.streams[stream].after.get(t.cursor, maxReadings) as BatchRow);
        if (count === 0 || firstId === null || lastId === null || joined === null) break;
        const seq = this.s.nextSeq++;
        st.insertBatch.run(seq, stream, firstId, lastId, count, bytes);
        t.cursor = lastId;
        // The bodies come joined already: a message is one string, not one per row.
        made.push({ seq, stream, count, payload: encodeStreamMessage(stream, this.opts.gatewayId, seq, [joined]), firstId, lastId, bytes });
      }
    }
    if (made.length > 0) st.setMeta.run(this.s.nextSeq, 'next_seq');
    return made;
  }

  /**
   * The broker has the batch: its rows go. While a drain runs and space is plentiful they go in
   * the next transaction the outbox makes anyway (a commit, or taking batches), at the latest
   * after ackLingerMs; otherwise acks are coalesced into one transaction per turn of the event loop.
   */
  ack(seq: number): void {
    const b = this.batches.get(seq);
    if (!b || this.ackQueue.has(seq)) return;
    this.ackQueue.add(seq);
    this.ackedWaiting.rows += b.count;
    this.ackedWaiting.bytes += b.bytes;
    if (this.deletesMayWait()) {
      this.ackTimer ??= setTimeout(() => {
        this.ackTimer = undefined;
        this.flushAcks();
      }, this.opts.ackLingerMs ?? ACK_LINGER_MS);
      return;
    }
    this.ackImmediate ??= setImmediate(() => {
      this.ackImmediate = undefined;
      // Deleted rows leave room: an overflow may be over, and rows held in memory may now fit.
      if (this.flushAcks() && (this.overflow.active || this.constrained())) this.commit();
    });
  }

  /**
   * A delete lost in a crash only means a resend with the same seq, so it may wait for the next
   * transaction, unless the space it frees is needed now (full or nearly full disk, overflow).
   */
  private deletesMayWait(): boolean {
    return this.demand !== undefined && this.space.reserveHeld && !this.space.low && !this.overflow.active && !this.failure.failing;
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
      const [count, , , , joined] = st.streams[b.stream].range.get(b.first_id, b.last_id) as BatchRow;
      if (count !== b.count) this.log.error({ seq: b.seq, expected: b.count, found: count }, 'an unacknowledged batch lost rows; resending what is left');
      const t = this.s.t[b.stream];
      t.cursor = Math.max(t.cursor, b.last_id);
      t.nextId = Math.max(t.nextId, b.last_id + 1);
      this.s.nextSeq = Math.max(this.s.nextSeq, b.seq + 1);
      const payload = encodeStreamMessage(b.stream, this.opts.gatewayId, b.seq, joined === null ? [] : [joined]);
      this.batches.set(b.seq, { seq: b.seq, stream: b.stream, count, payload, firstId: b.first_id, lastId: b.last_id, bytes: b.bytes });
    }
  }

  /** Writes are limited to the room beyond the disk reserve: during an outage, and until the reserve is back. */
  private constrained(): boolean {
    const held = this.space.restoreReserve();
    return this.failure.failing || !held;
  }

  /**
   * One transaction: pending events, then pending readings, under the overflow policy at the
   * configured limits. While constrained, only what fits in the measured room, oldest first
   * (`lastChance`, when stopping: whatever the backoff says).
   */
  private commit(lastChance = false): boolean {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    const db = this.db;
    if (!db) return false;
    this.space.watch(db);
    const limits = { rows: this.opts.maxRows, bytes: this.opts.maxBytes };
    const overLimit = this.backlogRows() > limits.rows || this.backlogBytes() > limits.bytes;
    const failing = this.failure.failing;
    if (this.pending.rows === 0 && !failing && !overLimit && !this.overflow.active) return this.flushAcks();
    let part: PendingPart = this.pending.whole();
    // An outage ends once everything held fits and space is back for good: the reserve made
    // again, or room for a while (not the one commit that trickling acks just made room for).
    let ends = true;
    const constrained = this.constrained();
    if (constrained) {
      const room = this.space.room(db);
      if (!lastChance && !this.failure.mayAttempt(room)) return false;
      const cost = (rows: number, bytes: number) => this.space.cost(rows, bytes);
      part = this.pending.fitting(Math.min(room, this.space.perWrite()) - NOTICE_ROOM, cost);
      if (!part.all) {
        if (!failing) this.noRoom(room);
        if (part.events.length + part.readings.json.length === 0) return false;
      }
      ends = part.all && (this.space.reserveHeld || room - cost(this.pending.rows, this.pending.bytes) >= 2 * this.space.reserveBytes);
    }
    const last = { events: part.events.length, readings: part.readings.json.length };
    const recovery = ends ? this.failure.recoveryEvent(last) : undefined;
    const snap = this.snapshot();
    const overflowSnap = this.overflow.snapshot();
    const events = recovery ? [encode(recovery), ...part.events] : part.events;
    // Acked rows go and the drain's next batches are made in this same transaction (batchAhead).
    const ahead = this.demand !== undefined && !constrained && !this.space.low;
    const acked = ahead ? [...this.ackQueue] : [];
    let made: BatchRecord[] = [];
    let inserted = 0;
    try {
      db.transaction(() => {
        const st = this.st as OutboxStatements;
        this.deleteAckedRows(st, acked);
        const before = { ...this.s.dropped };
        if (overLimit) this.capacity.shrinkTo(limits);
        inserted += this.capacity.placeEvents(events, limits);
        const telemetry = this.s.t.telemetry;
        // Everything committed before is batched: the rows now inserted are the next ones.
        const freshFrom = telemetry.cursor + 1 === telemetry.nextId ? telemetry.nextId : undefined;
        inserted += this.capacity.placeReadings(part.readings, limits);
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
        const want = ahead ? this.demand?.() : undefined;
        // Only when nothing was dropped: then the rows inserted are exactly the pending readings.
        const fresh = freshFrom !== undefined && !notice && this.s.dropped.telemetry === before.telemetry && this.s.dropped.events === before.events ? { firstId: freshFrom, readings: part.readings } : undefined;
        if (want && want.maxMessages > this.ready.length && want.maxReadings > 0) made = this.makeBatches(st, want.maxMessages - this.ready.length, want.maxReadings, fresh);
      })();
    } catch (err) {
      this.s = snap;
      this.overflow.restore(overflowSnap);
      this.storageFailed(err, 'commit');
      return false;
    }
    this.forgetAcked(acked);
    if (this.ackQueue.size > 0 && !this.ackImmediate) this.flushAcks();
    for (const b of made) this.batches.set(b.seq, b);
    this.ready.push(...made);
    this.persistedDropped = { ...this.s.dropped };
    this.pending.remove(part);
    if (recovery) this.recovered(recovery, last);
    else if (failing) this.failure.countHeld(last.events, last.readings);
    this.afterWrite(db, 'commit');
    if (inserted > 0) this.reclaimer.backlogAt(this.backlogBytes());
    if (inserted > 0 || made.length > 0) this.notify();
    return true;
  }

  private recovered(event: GatewayEvent, last: { events: number; readings: number }): void {
    const summary = this.failure.succeeded(last);
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (!summary) return;
    const fields = { ...summary, reserveHeld: this.space.reserveHeld, event: event.message };
    if (summary.dropped.telemetry + summary.dropped.events > 0) this.log.error(fields, 'outbox file writable again; data that arrived while it was not could not all be kept');
    else this.log.warn(fields, 'outbox file writable again; nothing was lost');
  }

  private persistDropped(): void {
    const st = this.st as OutboxStatements;
    if (this.s.dropped.telemetry !== this.persistedDropped.telemetry) st.setMeta.run(this.s.dropped.telemetry, 'dropped_telemetry');
    if (this.s.dropped.events !== this.persistedDropped.events) st.setMeta.run(this.s.dropped.events, 'dropped_events');
  }

  /**
   * Deletes acknowledged batches, in one transaction; on low disk space one batch per transaction,
   * each followed by a checkpoint, because a delete writes every page it touches to the WAL and a
   * small transaction fits in the WAL file as it is. If a delete fails (a full disk), its seqs stay
   * queued and are deleted by a later attempt; if the process stops first, the batches are sent
   * again with the same seq after a restart, which consumers drop as duplicates.
   */
  private flushAcks(): boolean {
    const db = this.db;
    if (!db || this.ackQueue.size === 0) return true;
    const seqs = [...this.ackQueue];
    if (!this.space.low) return this.deleteBatches(db, seqs);
    for (const seq of seqs) if (!this.deleteBatches(db, [seq]) || this.failure.failing && !this.space.checkpointDone) return false;
    return true;
  }

  private deleteBatches(db: Database.Database, seqs: readonly number[]): boolean {
    const st = this.st as OutboxStatements;
    // A delete lost in a power cut only means the batch is sent again with the same seq, which
    // consumers drop: it need not wait for an fsync, so it does not stall the event loop.
    const snap = this.snapshot();
    try {
      st.syncNormal.run();
      db.transaction(() => this.deleteAckedRows(st, seqs))();
    } catch (err) {
      this.s = snap;
      this.storageFailed(err, 'ack');
      return false;
    } finally {
      try {
        st.syncFull.run();
      } catch {
        // reported by the next write
      }
    }
    this.forgetAcked(seqs);
    this.afterWrite(db, 'ack');
    return true;
  }

  /** Inside a transaction: deletes the rows and records of acknowledged batches and takes them off the backlog counts. */
  private deleteAckedRows(st: OutboxStatements, seqs: readonly number[]): void {
    for (const seq of seqs) {
      const b = this.batches.get(seq) as BatchRecord;
      st.streams[b.stream].deleteRange.run(b.firstId, b.lastId);
      st.deleteBatch.run(seq);
      const t = this.s.t[b.stream];
      t.rows -= b.count;
      t.bytes -= b.bytes;
    }
  }

  /** After the deleting transaction committed. */
  private forgetAcked(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const b = this.batches.get(seq) as BatchRecord;
      this.acked[b.stream] += b.count;
      this.ackedWaiting.rows -= b.count;
      this.ackedWaiting.bytes -= b.bytes;
      this.batches.delete(seq);
      this.ackQueue.delete(seq);
    }
    if (this.ackQueue.size === 0) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
  }

  /** On low disk space a checkpoint follows each write; one that cannot complete stops new writes like a failed write. */
  private afterWrite(db: Database.Database, op: string): void {
    if (this.space.afterWrite(db)) return;
    this.storageFailed(Object.assign(new Error('the WAL cannot be checkpointed into the outbox file: the disk is full'), { code: 'SQLITE_FULL' }), `${op} (checkpoint)`);
  }

  private storageFailed(err: unknown, op: string): void {
    this.storageErrors++;
    const db = this.db as Database.Database;
    this.space.onWriteFailed(db);
    const room = this.measureRoom(db);
    const f = this.failure.failed(err, room);
    const fields = { op, code: f.code, err: f.message, pending: this.pending.rows, roomBytes: room, probeMs: this.probeMs };
    if (f.first) this.log.error(fields, 'outbox write failed; committed data stays, new data waits in memory until there is room');
    else this.log.debug({ ...fields, errors: f.errors }, 'outbox write failed again');
    this.capPending();
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.scheduleProbe();
  }

  /** Constrained and not everything pending fits: an outage like a failed write, without one. */
  private noRoom(room: number): void {
    const err = Object.assign(new Error(`no room for ${this.pending.rows} rows beyond the disk reserve (${room} bytes of room)`), { code: 'SQLITE_FULL' });
    this.storageFailed(err, 'commit');
  }

  private measureRoom(db: Database.Database): number {
    try {
      return this.space.room(db);
    } catch {
      return 0;
    }
  }

  private scheduleProbe(): void {
    if (this.probeTimer || !this.db) return;
    this.probeTimer = setTimeout(() => this.probe(), this.probeMs);
  }

  /** While writes fail: delete what was acknowledged, commit what fits, let the forwarder try for batches. */
  private probe(): void {
    this.probeTimer = undefined;
    if (!this.db) return;
    this.flushAcks();
    this.commit();
    if (!this.failure.failing) return;
    this.scheduleProbe();
    if (this.unbatched()) this.notify();
    const reminder = this.failure.reminderDue();
    if (reminder) this.log.warn({ ...reminder, pending: this.pending.rows, pendingBytes: this.pending.bytes }, 'outbox writes still failing; what does not fit in memory is dropped');
  }

  private unbatched(): boolean {
    return STREAMS.some((stream) => this.s.t[stream].nextId - 1 > this.s.t[stream].cursor);
  }

  /** While the file cannot be written, memory holds a bounded amount; past it the store's policy drops (counted). */
  private capPending(): void {
    const d = this.pending.cap(this.opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES, this.opts.telemetryOverflow);
    if (d.telemetry + d.events === 0) return;
    this.s.dropped.telemetry += d.telemetry;
    this.s.dropped.events += d.events;
    this.failure.countDropped(d);
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
        this.log.error({ err }, 'outbox commit listener threw');
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
    clearTimeout(this.probeTimer);
    clearTimeout(this.ackTimer);
    if (this.ackImmediate) clearImmediate(this.ackImmediate);
    this.commitTimer = undefined;
    this.probeTimer = undefined;
    this.ackTimer = undefined;
    this.ackImmediate = undefined;
  }
}

/** The next batch of the rows a commit has just inserted, from memory, in the form the `after` statement gives. */
function freshBatch(fresh: FreshRows, cursor: number, max: number): BatchRow {
  const { json, bytes } = fresh.readings;
  const from = cursor + 1 - fresh.firstId;
  const to = Math.min(json.length, from + max);
  if (to <= from) return [0, null, null, 0, null];
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i] as number;
  // Usually the batch is everything the commit inserted: join it without copying it first.
  const part = from === 0 && to === json.length ? json : json.slice(from, to);
  return [to - from, fresh.firstId + from, fresh.firstId + to - 1, sum, part.join(',')];
}

function encode(event: GatewayEvent): Encoded {
  const json = encodeEvent(event);
  return { json, bytes: Buffer.byteLength(json) };
}
