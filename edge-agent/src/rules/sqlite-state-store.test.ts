import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRuleStateStore } from './sqlite-state-store.js';

describe('SQLite rule state store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-store-'));
    dirs.push(dir);
    return join(dir, 'state', 'rules.db');
  };

  it('keeps documents per rule id across reopening the file, in WAL with synchronous=FULL', () => {
    const path = fresh();
    const a = new SqliteRuleStateStore(path, () => 42);
    a.set('flood/dongha', { level: 2, history: [[1, 2.5]] });
    a.set('aqi/air', { hours: {} });
    a.set('aqi/air', { hours: { pm2_5: [[0, 12.5]] } });
    const doc = a.get<{ level: number }>('flood/dongha');
    if (doc) doc.level = 99; // a caller changing what it got does not change the store
    expect(a.get('flood/dongha')).toEqual({ level: 2, history: [[1, 2.5]] });
    a.close();

    const b = new SqliteRuleStateStore(path);
    expect(b.ids()).toEqual(['aqi/air', 'flood/dongha']);
    expect(b.get('aqi/air')).toEqual({ hours: { pm2_5: [[0, 12.5]] } });
    b.delete('aqi/air');
    expect(b.get('aqi/air')).toBeUndefined();
    b.close();

    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT rule_id, updated_at FROM rule_state').all()).toEqual([{ rule_id: 'flood/dongha', updated_at: 42 }]);
    raw.close();
  });
});
