import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { OutboxError, sqliteCode } from './outbox-errors.js';

/**
 * On-disk layout of the outbox (PRAGMA user_version = 1):
 *
 *   events    (id INTEGER PRIMARY KEY, body TEXT)   one event or alarm per row, as its JSON text
 *   telemetry (id INTEGER PRIMARY KEY, body TEXT)   one reading per row, as its JSON text
 *   batches   (seq INTEGER PRIMARY KEY, stream, first_id, last_id, count, bytes)
 *             a published-or-about-to-be message: rows first_id..last_id of one stream's table
 *   meta      (key TEXT PRIMARY KEY, value)         next_seq, dropped_telemetry, dropped_events
 *
 * One table per stream keeps every range operation (take the next rows, delete an acked batch,
 * drop the oldest) on the rowid b-tree with no secondary index to maintain.
 *
 * New files use auto_vacuum = INCREMENTAL, so the space of a drained backlog can be given back
 * (SpaceReclaimer); files made before are converted once they are nearly empty.
 */
export const SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE telemetry (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE batches (
  seq INTEGER PRIMARY KEY,
  stream TEXT NOT NULL CHECK (stream IN ('events', 'telemetry')),
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  count INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
`;

/** SQLite page cache of the outbox connection, KiB. */
export const CACHE_KIB = 512;

/** How much of the file is verified at start. */
export type StartupCheck = 'integrity' | 'quick' | 'none';

export interface OpenedOutbox {
  db: Database.Database;
  /** Result of the startup check: "ok", "skipped" or the first problem reported. */
  check: string;
  checkMs: number;
  /** Set when a corrupt file was moved aside and a fresh one created. */
  quarantined?: { path: string; reason: string; previousNextSeq: number | undefined };
}

export interface OpenOptions {
  path: string;
  check: StartupCheck;
  /** Hard cap on the database file (PRAGMA max_page_count); past it writes fail with SQLITE_FULL. */
  maxFileBytes?: number;
  /** Sequence a brand-new file starts at when it replaces a corrupt one (ms clock: stays above old seqs). */
  freshSeqAfterCorruption: () => number;
  logger: Logger;
  now: () => number;
}

/** Opens (creating when needed) and verifies the outbox file. A corrupt file is set aside, never fatal. */
export function openOutboxDatabase(opts: OpenOptions): OpenedOutbox {
  try {
    mkdirSync(dirname(opts.path), { recursive: true });
  } catch (err) {
    throw new OutboxError('EDGE_OUTBOX_OPEN', `cannot create the directory of the outbox file ${opts.path}: ${(err as Error).message}`, { cause: err });
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(opts.path);
    configure(db, opts);
    const started = performance.now();
    const check = runCheck(db, opts.check);
    const checkMs = Math.round(performance.now() - started);
    if (check !== 'ok' && check !== 'skipped') return quarantine(db, opts, `${opts.check}_check: ${check}`);
    migrate(db, opts.path);
    return { db, check, checkMs };
  } catch (err) {
    const code = sqliteCode(err);
    if (db && (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')) return quarantine(db, opts, `${code}: ${(err as Error).message}`);
    if (!db && (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')) return quarantine(undefined, opts, `${code}: ${(err as Error).message}`);
    safeClose(db);
    if (err instanceof OutboxError) throw err;
    throw new OutboxError('EDGE_OUTBOX_OPEN', `cannot open the outbox file ${opts.path}: ${(err as Error).message}`, { cause: err });
  }
}

function configure(db: Database.Database, opts: OpenOptions): void {
  db.pragma('busy_timeout = 500'); // only another process holding the file waits here; it blocks the event loop
  // Before anything is written: a new file frees pages by incremental_vacuum (SpaceReclaimer);
  // on an older file this only takes effect when the reclaimer converts it with VACUUM.
  db.pragma('auto_vacuum = INCREMENTAL');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new OutboxError('EDGE_OUTBOX_OPEN', `the outbox file ${opts.path} cannot use WAL mode (got ${String(mode)})`);
  // FULL: a commit is on the disk (WAL fsynced) before it returns, so a power cut keeps it.
  db.pragma('synchronous = FULL');
  // The outbox appends at the end of a b-tree and reads and deletes at its start: a few pages are
  // hot. A larger cache only fills up during an outage and stays resident afterwards (16 MB cost
  // 21 MB of RSS for good after a one-minute outage at 5,000 readings/s; 2 MB left the malloc heap
  // 2.9 MB larger, 512 KB 1.2 MB, with the drain no slower).
  db.pragma(`cache_size = -${CACHE_KIB}`);
  db.pragma('temp_store = MEMORY');
  // Sized to the filesystem by DiskSpace once the file is open (a small disk gets a small WAL).
  db.pragma('wal_autocheckpoint = 2000');
  if (opts.maxFileBytes !== undefined) {
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    db.pragma(`max_page_count = ${Math.max(16, Math.ceil(opts.maxFileBytes / pageSize))}`);
  }
}

function runCheck(db: Database.Database, mode: StartupCheck): string {
  if (mode === 'none') return 'skipped';
  const rows = db.pragma(mode === 'integrity' ? 'integrity_check(20)' : 'quick_check(20)', { simple: false }) as Array<Record<string, unknown>>;
  const messages = rows.map((r) => String(Object.values(r)[0]));
  return messages.length === 1 && messages[0] === 'ok' ? 'ok' : messages.join('; ') || 'no result';
}

function migrate(db: Database.Database, path: string): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SCHEMA_VERSION) {
    throw new OutboxError('EDGE_OUTBOX_OPEN', `the outbox file ${path} has schema version ${version}, written by a newer agent (this one knows ${SCHEMA_VERSION}); move it aside or upgrade the agent`);
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec(SCHEMA_V1);
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    put.run('next_seq', 1);
    put.run('dropped_telemetry', 0);
    put.run('dropped_events', 0);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

/** Moves a corrupt file (and its WAL) aside and creates a fresh one whose sequence stays above the old. */
function quarantine(db: Database.Database | undefined, opts: OpenOptions, reason: string): OpenedOutbox {
  let previousNextSeq: number | undefined;
  try {
    const row = db?.prepare("SELECT value FROM meta WHERE key = 'next_seq'").get() as { value: unknown } | undefined;
    if (row && Number.isSafeInteger(row.value)) previousNextSeq = row.value as number;
  } catch {
    // the corrupt file may not even have a readable meta table
  }
  safeClose(db);
  const aside = `${opts.path}.corrupt-${opts.now()}`;
  opts.logger.error({ path: opts.path, movedTo: aside, reason }, 'outbox file is corrupt; moving it aside and starting a fresh one');
  try {
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(opts.path + suffix)) renameSync(opts.path + suffix, aside + suffix);
  } catch (err) {
    throw new OutboxError('EDGE_OUTBOX_OPEN', `the outbox file ${opts.path} is corrupt (${reason}) and cannot be moved aside: ${(err as Error).message}`, { cause: err });
  }
  let fresh: Database.Database | undefined;
  try {
    fresh = new Database(opts.path);
    configure(fresh, opts);
    migrate(fresh, opts.path);
    const seq = Math.max(previousNextSeq ?? 1, opts.freshSeqAfterCorruption());
    fresh.prepare("UPDATE meta SET value = ? WHERE key = 'next_seq'").run(seq);
  } catch (err) {
    safeClose(fresh);
    throw new OutboxError('EDGE_OUTBOX_OPEN', `cannot create a fresh outbox file ${opts.path}: ${(err as Error).message}`, { cause: err });
  }
  return { db: fresh, check: reason, checkMs: 0, quarantined: { path: aside, reason, previousNextSeq } };
}

function safeClose(db: Database.Database | undefined): void {
  try {
    if (db?.open) db.close();
  } catch {
    // closing a broken handle: nothing more to do
  }
}
