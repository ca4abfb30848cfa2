import type Database from 'better-sqlite3';
import type { Stream } from '@cityedge/contract';

type Row2 = [number, number];
type Row3 = [number, string, number];

/** Prepared statements of one stream's table. Table names come from a fixed list, never from input. */
export interface StreamStatements {
  insert: Database.Statement<[number, string]>;
  /** Rows after an id, oldest first: [id, body, bytes]. */
  after: Database.Statement<[number, number], Row3>;
  /** Rows of an id range, oldest first (rebuilding an unacked batch). */
  range: Database.Statement<[number, number], string>;
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

function streamStatements(db: Database.Database, table: 'events' | 'telemetry'): StreamStatements {
  return {
    insert: db.prepare(`INSERT INTO ${table} (id, body) VALUES (?, ?)`),
    after: db.prepare<[number, number], Row3>(`SELECT id, body, length(CAST(body AS BLOB)) FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`).raw(true),
    range: db.prepare<[number, number], string>(`SELECT body FROM ${table} WHERE id BETWEEN ? AND ? ORDER BY id`).pluck(true),
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
