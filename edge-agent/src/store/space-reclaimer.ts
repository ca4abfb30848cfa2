import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { describeError } from './outbox-errors.js';

export interface ReclaimerOptions {
  logger: Logger;
  /** Free pages kept in the file for the rows to come (they are reused before the file grows); default 4 MiB. */
  keepFreeBytes?: number;
  /** Pages returned per step; default 256 (1 MiB of 4 KiB pages), a few milliseconds of work. */
  stepPages?: number;
  /** How often to look for work while there may be some; default 1 s. */
  intervalMs?: number;
  /** Pause between steps while shrinking; default 50 ms. */
  stepMs?: number;
}

/** A backlog this small counts as drained (about 0.2 s of sending, or what a live flow keeps in flight). */
const DRAINED_BELOW_BYTES = 1024 * 1024;
/** Files without auto_vacuum are converted once the backlog is this small (VACUUM copies what is left). */
const CONVERT_BELOW_BYTES = DRAINED_BELOW_BYTES;
/** auto_vacuum = INCREMENTAL */
const INCREMENTAL = 2;

export type StepResult = 'idle' | 'more';
/** What a look at the file found: shrinking under way, something to do later (a backlog, a failed write), nothing. */
type Outlook = 'more' | 'later' | 'done';

/**
 * Gives disk space back after a backlog has drained. During a broker outage the file grows to
 * hold the backlog; once it is acknowledged the pages are free but the file keeps its size. With
 * auto_vacuum = INCREMENTAL, small `incremental_vacuum` steps on a timer move the last pages into
 * free ones and truncate the file, a few milliseconds at a time so polling keeps its schedule,
 * down to `keepFreeBytes` of free pages. Then `wal_checkpoint(TRUNCATE)` applies the truncation
 * and empties the WAL. Files made before auto_vacuum was set are converted (VACUUM) once nearly
 * empty, which is cheap because only the remaining rows are copied.
 *
 * The timer runs only while there may be work: from the start (a file left large) and after the
 * backlog has reached `keepFreeBytes / 2`, until a look finds nothing to give back. A backlog
 * smaller than that cannot leave more free pages than were there before (deleted pages are reused
 * first), so an agent that forwards as fast as it polls does not wake up for it.
 */
export class SpaceReclaimer {
  private db: Database.Database | undefined;
  private timer: NodeJS.Timeout | undefined;
  private shrinking = false;
  private convertFailedAt = -1;
  private readonly keepFreeBytes: number;
  private readonly stepPages: number;

  constructor(
    private readonly opts: ReclaimerOptions,
    /** Committed payload bytes not yet acknowledged, and whether the outbox may not write now (an outage). */
    private readonly outbox: { backlogBytes: () => number; busy: () => boolean },
  ) {
    this.keepFreeBytes = opts.keepFreeBytes ?? 4 * 1024 * 1024;
    this.stepPages = opts.stepPages ?? 256;
  }

  start(db: Database.Database): void {
    this.db = db;
    this.schedule(this.opts.intervalMs ?? 1000);
  }

  /** After a commit: a backlog this large may leave free pages to give back once drained. */
  backlogAt(bytes: number): void {
    if (!this.timer && this.db && bytes >= this.keepFreeBytes / 2) this.schedule(this.opts.intervalMs ?? 1000);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.db = undefined;
  }

  /** One step of work now (the timer calls it; tests may too). */
  step(): StepResult {
    return this.look() === 'more' ? 'more' : 'idle';
  }

  private look(): Outlook {
    const db = this.db;
    if (!db) return 'done';
    if (this.outbox.busy()) return 'later';
    try {
      if (Number(db.pragma('auto_vacuum', { simple: true })) !== INCREMENTAL) return this.convert(db);
      const pageSize = Number(db.pragma('page_size', { simple: true }));
      const freeBytes = Number(db.pragma('freelist_count', { simple: true })) * pageSize;
      const excess = Math.floor((freeBytes - this.keepFreeBytes) / pageSize);
      // Only once drained: while a backlog is still being sent, its pages are at the end of the
      // file, and moving them for vacuum would only slow the drain.
      const backlog = this.outbox.backlogBytes();
      if (excess > 0 && backlog > DRAINED_BELOW_BYTES) return 'later';
      if (excess > 0) {
        this.shrinking = true;
        withNormalSync(db, () => db.pragma(`incremental_vacuum(${Math.min(excess, this.stepPages)})`));
        return 'more';
      }
      if (this.shrinking) {
        this.shrinking = false;
        db.pragma('wal_checkpoint(TRUNCATE)');
        // The page cache filled up with the backlog's pages: let it go too.
        db.pragma('shrink_memory');
        this.opts.logger.info({ freeBytes: Number(db.pragma('freelist_count', { simple: true })) * pageSize, fileBytes: Number(db.pragma('page_count', { simple: true })) * pageSize }, 'outbox file shrunk after its backlog drained');
      }
      return backlog >= this.keepFreeBytes / 2 ? 'later' : 'done';
    } catch (err) {
      this.opts.logger.warn({ err: describeError(err) }, 'giving outbox disk space back failed; trying again later');
      return 'later';
    }
  }

  private convert(db: Database.Database): Outlook {
    const pages = Number(db.pragma('page_count', { simple: true }));
    if (this.outbox.backlogBytes() > CONVERT_BELOW_BYTES || pages === this.convertFailedAt) return 'later';
    try {
      db.pragma(`auto_vacuum = ${INCREMENTAL}`);
      db.exec('VACUUM');
      db.pragma('wal_checkpoint(TRUNCATE)');
      this.opts.logger.info({ before: pages, after: Number(db.pragma('page_count', { simple: true })) }, 'outbox file converted to incremental vacuum');
    } catch (err) {
      // Retried once the file has changed (e.g. less to copy, or space came back).
      this.convertFailedAt = pages;
      this.opts.logger.warn({ err: describeError(err) }, 'cannot convert the outbox file to incremental vacuum yet');
    }
    return 'later';
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.db) return;
      const outlook = this.look();
      if (outlook !== 'done') this.schedule(outlook === 'more' ? (this.opts.stepMs ?? 50) : (this.opts.intervalMs ?? 1000));
    }, ms);
  }
}

/** A lost vacuum step or checkpoint costs nothing: no fsync for it. */
function withNormalSync<T>(db: Database.Database, run: () => T): T {
  db.pragma('synchronous = NORMAL');
  try {
    return run();
  } finally {
    db.pragma('synchronous = FULL');
  }
}
