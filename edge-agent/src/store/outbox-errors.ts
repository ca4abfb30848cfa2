import { EdgeError } from '@cityedge/contract';
export type OutboxErrorCode =
  /** The outbox file could not be opened or created (permissions, missing directory, newer schema). */
  | 'EDGE_OUTBOX_OPEN'
  /** A write to the outbox file failed (disk full, I/O error); the data is kept in memory and retried. */
  | 'EDGE_OUTBOX_STORAGE';

export class OutboxError extends EdgeError<OutboxErrorCode> {
  override readonly name = 'OutboxError';

  constructor(code: OutboxErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The SQLite result code of an error (SQLITE_FULL, SQLITE_IOERR_WRITE...), if it is one. */
export function sqliteCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** A short description of an error for logs and events: its code and message, no stack. */
export function describeError(err: unknown): { code: string; message: string } {
  const code = sqliteCode(err) ?? (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? String((err as { code: string }).code) : 'EDGE_OUTBOX_STORAGE');
  const message = err instanceof Error ? err.message : String(err);
  return { code, message };
}
