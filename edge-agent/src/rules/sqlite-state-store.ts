import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { RuleStateStore } from './rule-context.js';

/**
 * Rule state in its own SQLite file (`rules.db` in the state directory), apart from the outbox
 * so a rule writing its state never waits behind a telemetry commit. WAL with synchronous=FULL:
 * each set() is one atomic, durable transaction. Rules call set() when their state changes (an
 * alarm transition, an hour closing, an acknowledgement, an override), not per reading.
 */
export class SqliteRuleStateStore implements RuleStateStore {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], { json: string }>;
  private readonly setStmt: Database.Statement<[string, string, number]>;
  private readonly delStmt: Database.Statement<[string]>;
  private readonly idsStmt: Database.Statement<[], { rule_id: string }>;
  private readonly cache = new Map<string, unknown>();

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 500');
    this.db.exec('CREATE TABLE IF NOT EXISTS rule_state (rule_id TEXT PRIMARY KEY, json TEXT NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID');
    this.getStmt = this.db.prepare('SELECT json FROM rule_state WHERE rule_id = ?');
    this.setStmt = this.db.prepare('INSERT INTO rule_state (rule_id, json, updated_at) VALUES (?, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at');
    this.delStmt = this.db.prepare('DELETE FROM rule_state WHERE rule_id = ?');
    this.idsStmt = this.db.prepare('SELECT rule_id FROM rule_state ORDER BY rule_id');
  }

  get<T = unknown>(ruleId: string): T | undefined {
    if (this.cache.has(ruleId)) return structuredClone(this.cache.get(ruleId)) as T;
    const row = this.getStmt.get(ruleId);
    if (!row) return undefined;
    const value = JSON.parse(row.json) as T;
    this.cache.set(ruleId, value);
    return structuredClone(value);
  }

  set(ruleId: string, state: unknown): void {
    const json = JSON.stringify(state);
    this.setStmt.run(ruleId, json, this.now());
    this.cache.set(ruleId, JSON.parse(json));
  }

  delete(ruleId: string): void {
    this.delStmt.run(ruleId);
    this.cache.delete(ruleId);
  }

  ids(): string[] {
    return this.idsStmt.all().map((r) => r.rule_id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** In-memory store with the same contract, for unit tests of rule logic and the benchmark. */
export class MemoryRuleStateStore implements RuleStateStore {
  private readonly docs = new Map<string, string>();
  writes = 0;

  get<T = unknown>(ruleId: string): T | undefined {
    const json = this.docs.get(ruleId);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  set(ruleId: string, state: unknown): void {
    this.writes++;
    this.docs.set(ruleId, JSON.stringify(state));
  }

  delete(ruleId: string): void {
    this.docs.delete(ruleId);
  }

  ids(): string[] {
    return [...this.docs.keys()].sort();
  }
}
