import type Database from 'better-sqlite3';
import type { Stream } from '@cityedge/contract';

type Row2 = [number, number];

/**
 * The next rows of a stream as one batch, aggregated by SQLite: [count, first id, last id, bytes,
 * bodies joined with commas] (count 0 and nulls when there are none). One string per message
 * instead of a JS string and array per row: a drain of 166k rows/s made the agent's heap grow.
 */
export type BatchRow = [number, number | null, number | null, number, string | null];

/** Prepared statements of one stream's table. Table names come from a fixed list, never from input. */
export interface StreamStatements {
  insert: Database.Statement<[number, string]>;
  /** The rows after an id, at most a limit of them, as one batch. */
  after: Database.Statement<[number, number], BatchRow>;
  /** The rows of an id range as one batch (rebuilding an unacked batch). */
  range: Database.Statement<[number, number], BatchRow>;
  deleteRange: Database.Statement<[number, number]>;
  /** [id, bytes] after an id, oldest first / newest first (choosing rows to drop). */
  sizesAsc: Database.Statement<[number], Row2>;
  sizesDesc: Database.Statement<[number], Row2>;
  totals: Database.Statement<[], { n: number; bytes: number; maxId: number }>;
}

export interface OutboxStatements {
  streams: Record<Stream, StreamStatements>;
  insertBatch: Database.Statement<[number, Stream, number, number, number, number]>;
  deleteBatch: Database.Statement<[number]>;
  batches: Database.Statement<[], { seq: number; stream: Stream; first_id: number; last_id: number; count: number; bytes: number }>;
  getMeta: Database.Statement<[string], unknown>;
  setMeta: Database.Statement<[number, string]>;
  /** Deletes after PUBACK commit without an fsync (see Outbox.deleteBatches); prepared once, not parsed per delete. */
  syncNormal: Database.Statement<[]>;
  syncFull: Database.Statement<[]>;
}

const BATCH_COLUMNS = "count(*), min(id), max(id), coalesce(sum(length(CAST(body AS BLOB))), 0), group_concat(body, ',' ORDER BY id)";

function streamStatements(db: Database.Database, table: 'events' | 'telemetry'): StreamStatements {
  return {
    insert: db.prepare(`INSERT INTO ${table} (id, body) VALUES (?, ?)`),
    // LIMIT CAST(? AS INTEGER), not LIMIT ?: SQLite re-prepares a statement on every run when its
    // LIMIT is a bare parameter (it may change the plan), which profiling showed in each commit.
    after: db.prepare<[number, number], BatchRow>(`SELECT ${BATCH_COLUMNS} FROM (SELECT id, body FROM ${table} WHERE id > ? ORDER BY id LIMIT CAST(? AS INTEGER))`).raw(true),
    range: db.prepare<[number, number], BatchRow>(`SELECT ${BATCH_COLUMNS} FROM ${table} WHERE id BETWEEN ? AND ?`).raw(true),
    deleteRange: db.prepare(`DELETE FROM ${table} WHERE id BETWEEN ? AND ?`),
    sizesAsc: db.prepare<[number], Row2>(`SELECT id, length(CAST(body AS BLOB)) FROM ${table} WHERE id > ? ORDER BY id`).raw(true),
    sizesDesc: db.prepare<[number], Row2>(`SELECT id, length(CAST(body AS BLOB)) FROM ${table} WHERE id > ? ORDER BY id DESC`).raw(true),
    totals: db.prepare(`SELECT count(*) AS n, coalesce(sum(length(CAST(body AS BLOB))), 0) AS bytes, coalesce(max(id), 0) AS maxId FROM ${table}`),
  };
}

export function prepareStatements(db: Database.Database): OutboxStatements {
  return {
    streams: { events: streamStatements(db, 'events'), telemetry: streamStatements(db, 'telemetry') },
    insertBatch: db.prepare('INSERT INTO batches (seq, stream, first_id, last_id, count, bytes) VALUES (?, ?, ?, ?, ?, ?)'),
    deleteBatch: db.prepare('DELETE FROM batches WHERE seq = ?'),
    batches: db.prepare('SELECT seq, stream, first_id, last_id, count, bytes FROM batches ORDER BY seq'),
    getMeta: db.prepare<[string], unknown>('SELECT value FROM meta WHERE key = ?').pluck(true),
    setMeta: db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
    syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
    syncFull: db.prepare('PRAGMA synchronous = FULL'),
  };
}
