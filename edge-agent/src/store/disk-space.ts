import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';

/** Bytes of SQLite record and cell overhead per stored row, beyond its JSON body (rowid, header, cell pointer). */
const ROW_OVERHEAD = 12;
/** Leaf pages of an append-only rowid table are nearly full; allow for interior pages and partial leaves. */
const PAGE_FILL = 0.8;
/** Share of a WAL frame that is page (the rest is its 24-byte header), with some slack. */
const WAL_PAYLOAD = 0.9;

export interface SpaceSizing {
  /** Bytes kept back in `<outbox>-reserve` for deletes and checkpoints on a full disk. */
  reserveBytes: number;
  /** WAL frames between automatic checkpoints while space is plentiful. */
  walAutocheckpointPages: number;
  /** Size the WAL file is truncated to after a checkpoint resets it. */
  journalSizeLimit: number;
  /** Below this much free space, a checkpoint follows every write. */
  lowWaterBytes: number;
}

/** How much to hold back, from the size of the filesystem (a 4 MB tmpfs and a 32 GB SD card both work). */
export function spaceSizing(fsBytes: number, pageSize: number, reserveBytes?: number): SpaceSizing {
  const reserve = reserveBytes ?? clamp(Math.floor(fsBytes / 32), 128 * 1024, 4 * 1024 * 1024);
  const walPages = clamp(Math.floor(fsBytes / 16 / pageSize), 64, 2000);
  return { reserveBytes: reserve, walAutocheckpointPages: walPages, journalSizeLimit: 2 * walPages * pageSize, lowWaterBytes: 2 * reserve + 2 * walPages * pageSize };
}

/**
 * Keeps the outbox able to free space when its disk is full.
 *
 * SQLite in WAL mode needs disk space to delete: a delete writes every page it touches to the WAL
 * (about as much as it deletes), and the WAL can only be reused from its start once a checkpoint
 * has copied it into the database file, which may need to grow for pages that so far exist only
 * in the WAL. On a disk filled to the last byte
 * neither works, and the rows the broker has acknowledged could never be deleted. So:
 * - a reserve file of `reserveBytes` is held beside the outbox and released on the first failed
 *   write, which gives the checkpoint and the deletes after PUBACK their room, even when another
 *   program filled the disk;
 * - below `lowWaterBytes` of free space a checkpoint follows every write ({@link afterWrite}), so
 *   the WAL never holds more than one transaction's worth of pages that the file does not have
 *   yet, and the WAL file is reused from its start instead of growing. A checkpoint that cannot
 *   complete counts as a failed write: nothing more is written until one completes;
 * - while the reserve is not held, new rows are only written into room beyond it ({@link room}):
 *   free pages inside the file (left by acknowledged rows) and free disk space above the reserve.
 */
export class DiskSpace {
  private readonly reservePath: string;
  private readonly dir: string;
  private sizing: SpaceSizing | undefined;
  private pageSize = 4096;
  private held = false;
  /** False when the reserve file cannot be made for a reason other than space (read-only, permissions). */
  private enabled = true;
  private lowSpace = false;
  private lastWatch = -Infinity;
  /** Whether the last checkpoint moved the whole WAL into the file. */
  private checkpointed = true;

  constructor(
    private readonly opts: { path: string; logger: Logger; now: () => number; reserveBytes?: number },
  ) {
    this.reservePath = `${opts.path}-reserve`;
    this.dir = dirname(opts.path);
  }

  /** Sizes the WAL settings from the filesystem and makes (or finds) the reserve file. */
  start(db: Database.Database): void {
    this.pageSize = Number(db.pragma('page_size', { simple: true }));
    const fs = this.statfs();
    this.sizing = spaceSizing(fs?.total ?? Number.MAX_SAFE_INTEGER, this.pageSize, this.opts.reserveBytes);
    db.pragma(`journal_size_limit = ${this.sizing.journalSizeLimit}`);
    db.pragma(`wal_autocheckpoint = ${this.sizing.walAutocheckpointPages}`);
    this.lowSpace = false;
    this.lastWatch = -Infinity;
    this.held = existsSync(this.reservePath) && statSync(this.reservePath).size >= this.sizing.reserveBytes;
    if (!this.held) this.restoreReserve();
    this.watch(db, true);
    // A WAL left by a run that stopped on a full disk goes into the file first.
    if (this.lowSpace) this.checkpointed = this.checkpoint(db);
  }

  /** Free space is below the low-water mark, or the reserve is not held: checkpoint after every write. */
  get low(): boolean {
    return this.lowSpace;
  }

  /** Whether the last checkpoint moved the whole WAL into the file. */
  get checkpointDone(): boolean {
    return this.checkpointed;
  }

  get reserveHeld(): boolean {
    return this.held || !this.enabled;
  }

  get reserveBytes(): number {
    return this.sizing?.reserveBytes ?? 0;
  }

  /** Free bytes on the outbox's filesystem for this process, undefined when statfs is not available. */
  freeBytes(): number | undefined {
    return this.statfs()?.free;
  }

  /**
   * At most once a second (and when `force`): whether free space is below the low-water mark (or
   * the reserve is not held). Cheap: one statfs.
   */
  watch(db: Database.Database, force = false): void {
    const now = this.opts.now();
    if (!force && now - this.lastWatch < 1000) return;
    this.lastWatch = now;
    const sizing = this.sizing;
    const free = this.freeBytes();
    if (!sizing || free === undefined) return;
    const low = free < sizing.lowWaterBytes || !this.reserveHeld;
    if (low === this.lowSpace) return;
    this.lowSpace = low;
    this.opts.logger.info({ freeBytes: free, lowWaterBytes: sizing.lowWaterBytes }, low ? 'little disk space left: checkpointing after every write' : 'disk space is plentiful again');
  }

  /**
   * After a write transaction committed: on low space, checkpoint at once. False when the
   * checkpoint could not complete (the file cannot grow to take the WAL's pages): the caller
   * treats it as a failed write and writes nothing new until a checkpoint completes.
   */
  afterWrite(db: Database.Database): boolean {
    if (!this.lowSpace) return true;
    this.checkpointed = this.checkpoint(db);
    return this.checkpointed;
  }

  /** A write failed: let go of the reserve and move the WAL into the file so that it is reused from its start. */
  onWriteFailed(db: Database.Database): void {
    if (this.held) {
      try {
        unlinkSync(this.reservePath);
        this.opts.logger.warn({ reserveBytes: this.reserveBytes }, 'released the outbox disk reserve so that acknowledged rows can still be deleted');
      } catch (err) {
        this.opts.logger.warn({ err }, 'cannot remove the outbox disk reserve');
      }
      this.held = false;
    }
    this.checkpointed = this.checkpoint(db);
    this.watch(db, true);
  }

  /** PASSIVE checkpoint; true when the whole WAL is in the file (the next write starts the WAL over). */
  checkpoint(db: Database.Database): boolean {
    try {
      const r = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      const row = r[0];
      return row !== undefined && row.busy === 0 && row.log === row.checkpointed;
    } catch {
      return false;
    }
  }

  /** Makes the reserve file again once the disk has room for it and as much again; true when held. */
  restoreReserve(): boolean {
    if (this.held || !this.enabled || !this.sizing) return this.reserveHeld;
    const size = this.sizing.reserveBytes;
    const free = this.freeBytes();
    if (free !== undefined && free < 2 * size) return false;
    let fd: number | undefined;
    try {
      fd = openSync(this.reservePath, 'w', 0o600);
      // Random bytes: a compressing filesystem would not allocate blocks for zeros.
      const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(size, 1024 * 1024)));
      for (let left = size; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
      fsyncSync(fd);
      this.held = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') {
        this.enabled = false;
        this.opts.logger.warn({ err, path: this.reservePath }, 'cannot make the outbox disk reserve; a full disk may stop deletes until space returns');
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
      if (!this.held) safeUnlink(this.reservePath);
    }
    return this.reserveHeld;
  }

  /**
   * Bytes of new rows the file has room for without touching the reserve: free pages inside the
   * file, plus pages the file may still grow by (PRAGMA max_page_count, and half of the free disk
   * space above the reserve, since a new page is written to the WAL and then to the file).
   */
  room(db: Database.Database): number {
    // Until the WAL is in the file, every page written grows the WAL: no room for new rows.
    if (!this.checkpointed && !(this.checkpointed = this.checkpoint(db))) return 0;
    const freelist = Number(db.pragma('freelist_count', { simple: true }));
    const pages = Number(db.pragma('page_count', { simple: true }));
    const maxPages = Number(db.pragma('max_page_count', { simple: true }));
    const free = this.freeBytes() ?? Number.MAX_SAFE_INTEGER;
    const usable = Math.max(0, free - (this.held ? 0 : this.reserveBytes));
    const growth = Math.max(0, Math.min(maxPages - pages, Math.floor(usable / this.pageSize / 2)));
    return (freelist + growth) * this.pageSize;
  }

  /**
   * Bytes one transaction may write while writes are constrained: every page goes through the
   * WAL first, which holds what its file already has room for, or can grow by.
   */
  perWrite(): number {
    const free = this.freeBytes() ?? Number.MAX_SAFE_INTEGER;
    const usable = Math.max(0, free - (this.held ? 0 : this.reserveBytes));
    return Math.floor((this.walBytes() + usable) * WAL_PAYLOAD);
  }

  private walBytes(): number {
    try {
      return statSync(`${this.opts.path}-wal`).size;
    } catch {
      return 0;
    }
  }

  /** Bytes of room that `rows` rows of `bytes` JSON take, with a margin. */
  cost(rows: number, bytes: number): number {
    if (rows === 0) return 0;
    return Math.ceil((bytes + rows * ROW_OVERHEAD) / PAGE_FILL) + 2 * this.pageSize;
  }

  private statfs(): { total: number; free: number } | undefined {
    try {
      const s = statfsSync(this.dir);
      // root may write into the blocks a filesystem keeps for it (ext4: 5%); everyone else may not
      const free = process.getuid?.() === 0 ? s.bfree : s.bavail;
      return { total: s.blocks * s.bsize, free: free * s.bsize };
    } catch {
      return undefined;
    }
  }
}

function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}
