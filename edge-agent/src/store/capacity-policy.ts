import type { Stream } from '@cityedge/contract';
import type { OutboxStatements } from './outbox-sql.js';
import type { StreamCounts } from './overflow-monitor.js';

export interface TableState {
  rows: number;
  bytes: number;
  /** Next row id (ids are never reused, so a new row is always after every batch). */
  nextId: number;
  /** Last id assigned to a batch: rows after it are not in any batch. */
  cursor: number;
}

/** The committed view of the outbox file, mutated inside a transaction and restored if it rolls back. */
export interface OutboxState {
  t: Record<Stream, TableState>;
  nextSeq: number;
  dropped: StreamCounts;
}

export interface Encoded {
  json: string;
  bytes: number;
}

/** Readings waiting for the next commit: JSON texts and their UTF-8 sizes. */
export interface PendingReadings {
  json: string[];
  bytes: number[];
  sum: number;
}

export interface Limits {
  rows: number;
  bytes: number;
}

export type TelemetryOverflow = 'drop-oldest' | 'drop-newest';

export function emptyState(): OutboxState {
  const table = (): TableState => ({ rows: 0, bytes: 0, nextId: 1, cursor: 0 });
  return { t: { events: table(), telemetry: table() }, nextSeq: 1, dropped: { telemetry: 0, events: 0 } };
}

export function copyState(s: OutboxState): OutboxState {
  return { t: { events: { ...s.t.events }, telemetry: { ...s.t.telemetry } }, nextSeq: s.nextSeq, dropped: { ...s.dropped } };
}

export const totalRows = (s: OutboxState): number => s.t.events.rows + s.t.telemetry.rows;
export const totalBytes = (s: OutboxState): number => s.t.events.bytes + s.t.telemetry.bytes;

/**
 * Inserts rows under the limits, inside the caller's transaction. The policy, per class of data:
 * - events and alarms come first: room is made by dropping unbatched telemetry (oldest first under
 *   drop-oldest, newest first under drop-newest), then the oldest unbatched events, and only then
 *   the oldest of the new events;
 * - readings: drop-oldest drops the oldest unbatched readings (stored ones, then the oldest new
 *   ones); drop-newest refuses new readings that do not fit.
 * Rows in a batch are never dropped: a published message is always resent unchanged.
 * Every drop is counted in state.dropped.
 */
export class CapacityPolicy {
  constructor(
    private readonly s: () => OutboxState,
    private readonly st: OutboxStatements,
    private readonly policy: TelemetryOverflow,
  ) {}

  placeEvents(list: readonly Encoded[], limits: Limits): number {
    if (list.length === 0) return 0;
    const s = this.s();
    const needRows = list.length;
    let needBytes = 0;
    for (const e of list) needBytes += e.bytes;
    const over = () => [totalRows(s) + needRows - limits.rows, totalBytes(s) + needBytes - limits.bytes] as const;
    let [overRows, overBytes] = over();
    if (overRows > 0 || overBytes > 0) {
      this.evict('telemetry', overRows, overBytes, this.policy === 'drop-newest');
      [overRows, overBytes] = over();
    }
    if (overRows > 0 || overBytes > 0) {
      this.evict('events', overRows, overBytes, false);
      [overRows, overBytes] = over();
    }
    let start = 0;
    while ((overRows > 0 || overBytes > 0) && start < list.length) {
      const e = list[start++] as Encoded;
      overRows--;
      overBytes -= e.bytes;
      s.dropped.events++;
    }
    const t = s.t.events;
    const insert = this.st.streams.events.insert;
    for (let i = start; i < list.length; i++) {
      const e = list[i] as Encoded;
      insert.run(t.nextId++, e.json);
      t.rows++;
      t.bytes += e.bytes;
    }
    return list.length - start;
  }

  placeReadings(pending: PendingReadings, limits: Limits): number {
    const n = pending.json.length;
    if (n === 0) return 0;
    const s = this.s();
    const t = s.t.telemetry;
    const insert = this.st.streams.telemetry.insert;
    if (this.policy === 'drop-newest') {
      let inserted = 0;
      for (let i = 0; i < n; i++) {
        const bytes = pending.bytes[i] as number;
        if (totalRows(s) + 1 > limits.rows || totalBytes(s) + bytes > limits.bytes) {
          s.dropped.telemetry++;
          continue;
        }
        insert.run(t.nextId++, pending.json[i] as string);
        t.rows++;
        t.bytes += bytes;
        inserted++;
      }
      return inserted;
    }
    const over = () => [totalRows(s) + n - limits.rows, totalBytes(s) + pending.sum - limits.bytes] as const;
    let [overRows, overBytes] = over();
    if (overRows > 0 || overBytes > 0) {
      this.evict('telemetry', overRows, overBytes, false);
      [overRows, overBytes] = over();
    }
    let start = 0;
    while ((overRows > 0 || overBytes > 0) && start < n) {
      overRows--;
      overBytes -= pending.bytes[start++] as number;
      s.dropped.telemetry++;
    }
    for (let i = start; i < n; i++) {
      insert.run(t.nextId++, pending.json[i] as string);
      t.bytes += pending.bytes[i] as number;
    }
    t.rows += n - start;
    return n - start;
  }

  /** Brings stored rows down to lowered limits (a full disk, or a smaller configuration). */
  shrinkTo(limits: Limits): void {
    const s = this.s();
    this.evict('telemetry', totalRows(s) - limits.rows, totalBytes(s) - limits.bytes, this.policy === 'drop-newest');
    this.evict('events', totalRows(s) - limits.rows, totalBytes(s) - limits.bytes, false);
  }

  /** Deletes unbatched rows of a stream, oldest (or newest) first, until rows and bytes are freed or none are left. */
  private evict(stream: Stream, rows: number, bytes: number, newestFirst: boolean): void {
    if (rows <= 0 && bytes <= 0) return;
    const st = this.st.streams[stream];
    const s = this.s();
    const t = s.t[stream];
    let n = 0;
    let freed = 0;
    let edge = -1;
    for (const [id, len] of (newestFirst ? st.sizesDesc : st.sizesAsc).iterate(t.cursor)) {
      n++;
      freed += len;
      edge = id;
      if (n >= rows && freed >= bytes) break;
    }
    if (n === 0) return;
    if (newestFirst) st.deleteRange.run(edge, Number.MAX_SAFE_INTEGER);
    else st.deleteRange.run(t.cursor + 1, edge);
    t.rows -= n;
    t.bytes -= freed;
    s.dropped[stream] += n;
  }
}
