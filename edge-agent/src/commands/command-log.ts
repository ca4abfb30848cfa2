import Database from 'better-sqlite3';
import type { CommandResult } from '@cityedge/contract';

/** What the gateway remembers of a command id. */
export interface LoggedCommand {
  id: string;
  name: string;
  receivedAt: number;
  /** The final answer; undefined while it runs, or when the agent stopped before it ended. */
  result: CommandResult | undefined;
}

/**
 * The ids of the commands this gateway has executed, and how each ended: a small SQLite file
 * in the state directory. An id is recorded (durably) before its command runs, so a command is
 * executed at most once even across a crash: a repeat, also after a restart, gets the stored
 * answer (or, for a command the agent died running, a failure saying so) and never runs again.
 * Entries are kept a week, far longer than any command's expiry.
 */
export class CommandLog {
  private readonly db: Database.Database;
  private readonly get: Database.Statement<[string], { id: string; name: string; received_at: number; result: string | null }>;
  private readonly insert: Database.Statement<[string, string, number]>;
  private readonly finishStmt: Database.Statement<[string, string]>;
  private readonly prune: Database.Statement<[number]>;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec('CREATE TABLE IF NOT EXISTS commands (id TEXT PRIMARY KEY, name TEXT NOT NULL, received_at INTEGER NOT NULL, result TEXT)');
    this.get = this.db.prepare('SELECT id, name, received_at, result FROM commands WHERE id = ?');
    this.insert = this.db.prepare('INSERT INTO commands (id, name, received_at) VALUES (?, ?, ?)');
    this.finishStmt = this.db.prepare('UPDATE commands SET result = ? WHERE id = ?');
    this.prune = this.db.prepare('DELETE FROM commands WHERE received_at < ?');
  }

  lookup(id: string): LoggedCommand | undefined {
    const row = this.get.get(id);
    if (!row) return undefined;
    return { id: row.id, name: row.name, receivedAt: row.received_at, result: row.result === null ? undefined : (JSON.parse(row.result) as CommandResult) };
  }

  /** Records that the command starts now; false when the id is known already. */
  begin(id: string, name: string, now: number): boolean {
    try {
      this.insert.run(id, name, now);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw err;
    }
  }

  finish(id: string, result: CommandResult): void {
    this.finishStmt.run(JSON.stringify(result), id);
  }

  /** Forgets entries received before `before`. */
  forget(before: number): number {
    return this.prune.run(before).changes;
  }

  close(): void {
    this.db.close();
  }
}
