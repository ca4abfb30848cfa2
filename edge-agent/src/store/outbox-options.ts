import type { Logger } from 'pino';
import type { Stream } from '@cityedge/contract';
import type { StartupCheck } from './outbox-schema.js';
import type { StreamCounts } from './overflow-monitor.js';
import type { ReclaimerOptions } from './space-reclaimer.js';

export interface OutboxOptions {
  /** SQLite file. */
  path: string;
  gatewayId: string;
  maxRows: number;
  maxBytes: number;
  telemetryOverflow: 'drop-oldest' | 'drop-newest';
  /** Group-commit linger for readings: what a power cut can lose. */
  commitIntervalMs: number;
  /** While a drain runs, longest wait of an acknowledged batch for a transaction to delete it in; default 5 s. */
  ackLingerMs?: number;
  logger: Logger;
  now?: () => number;
  /** Verification at start; default "integrity" (see docs in the report: ~1 s per 100 MB). */
  startupCheck?: StartupCheck;
  /** Hard cap on the file (PRAGMA max_page_count); hitting it behaves like a full disk. See limitFileBytes(). */
  maxFileBytes?: number;
  /** JSON bytes of readings and events held in memory while the file cannot be written; default 4 MiB. */
  maxPendingBytes?: number;
  /** Least time between two buffer.overflow events of one episode; default 60 s. */
  overflowEventIntervalMs?: number;
  /** While the file cannot be written, how often room is measured (statfs, free pages) and writes retried; default 250 ms. */
  probeMs?: number;
  /** Longest wait between attempts that fail with room to spare (I/O errors); default 5 s. */
  backoffMaxMs?: number;
  /** Disk space held back for deletes and checkpoints on a full disk; default 1/32 of the filesystem, 128 KiB to 4 MiB. */
  reserveBytes?: number;
  /** Giving file space back after a drain. */
  reclaim?: Omit<ReclaimerOptions, 'logger'>;
}

/** Default cap of what waits in memory while the file cannot be written (about 50,000 readings). */
export const DEFAULT_MAX_PENDING_BYTES = 4 * 1024 * 1024;
export interface OutboxStats {
  /** Committed rows (events and readings) not yet acknowledged, including those in batches. */
  backlogRows: number;
  backlogBytes: number;
  /** Rows accepted and not yet committed (held in memory while the file cannot be written). */
  pending: number;
  pendingBytes: number;
  inflightBatches: number;
  /** Everything dropped: by the overflow policy and from memory during an outage (persisted since the file was created). */
  dropped: StreamCounts;
  /** Rows handed to appendReadings/appendEvent since start. */
  appended: StreamCounts;
  /** Rows deleted after the broker acknowledged them, since start. */
  acked: StreamCounts;
  storageErrors: number;
  storageFailing: boolean;
  /** Whether the disk reserve is held (false after a full disk, until space returns). */
  diskReserveHeld: boolean;
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
