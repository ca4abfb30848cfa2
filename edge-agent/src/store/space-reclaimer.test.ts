import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Outbox } from './outbox.js';
import { drain, OutboxFixture, readings, until, values } from './testing/outbox-fixtures.js';

const fx = new OutboxFixture();
beforeEach(() => fx.setup());
afterEach(() => fx.cleanup());

const MiB = 1024 * 1024;
/** The outbox file and its WAL, in bytes. */
const onDisk = (path: string) => [path, `${path}-wal`].reduce((n, p) => n + (existsSync(p) ? statSync(p).size : 0), 0);

function backlogOf(outbox: Outbox, from: number, n: number): void {
  for (let i = 0; i < n; i += 5000) outbox.appendReadings(readings(from + i, Math.min(5000, n - i)));
  outbox.flush();
}

function reclaimAll(outbox: Outbox): void {
  for (let i = 0; i < 10_000 && outbox.reclaimStep() === 'more'; i++);
}

function autoVacuum(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return Number(db.pragma('auto_vacuum', { simple: true }));
  } finally {
    db.close();
  }
}

describe('Outbox file space after a drain', () => {
  it('gives the space of a drained backlog back to the disk and keeps working', async () => {
    const outbox = fx.make({ reclaim: { keepFreeBytes: 256 * 1024 } });
    backlogOf(outbox, 0, 200_000);
    const full = onDisk(fx.path);
    expect(full).toBeGreaterThan(10 * MiB);
    // While the backlog is still there, nothing is given back.
    expect(outbox.reclaimStep()).toBe('idle');
    expect(values(drain(outbox))).toHaveLength(200_000);
    await new Promise((r) => setImmediate(r));
    reclaimAll(outbox);
    expect(onDisk(fx.path)).toBeLessThan(MiB);

    backlogOf(outbox, 200_000, 10_000);
    expect(values(drain(outbox))).toEqual(readings(200_000, 10_000).map((r) => r.v));
  });

  it('looks for space to give back on its own once a backlog has built up, and gives it back after the drain', async () => {
    const outbox = fx.make({ reclaim: { keepFreeBytes: 256 * 1024, intervalMs: 10, stepMs: 1 } });
    // Past its first look the timer is off: a small flow does not wake it.
    await new Promise((r) => setTimeout(r, 50));
    backlogOf(outbox, 0, 50_000);
    const full = onDisk(fx.path);
    expect(full).toBeGreaterThan(4 * MiB);
    expect(values(drain(outbox))).toHaveLength(50_000);
    await until('the file to shrink', () => onDisk(fx.path) < MiB);
  });

  it('converts a file made without auto_vacuum once its backlog has drained', async () => {
    // An agent before auto_vacuum: WAL mode was set first, which fixes auto_vacuum = NONE.
    const old = new Database(fx.path);
    old.pragma('journal_mode = WAL');
    old.close();
    const outbox = fx.make({ reclaim: { keepFreeBytes: 0 } });
    expect(autoVacuum(fx.path)).toBe(0);
    backlogOf(outbox, 0, 100_000);
    expect(outbox.reclaimStep()).toBe('idle');
    expect(autoVacuum(fx.path)).toBe(0);
    const sizeFull = onDisk(fx.path);
    expect(values(drain(outbox))).toHaveLength(100_000);
    await new Promise((r) => setImmediate(r));
    reclaimAll(outbox);
    expect(autoVacuum(fx.path)).toBe(2);
    expect(onDisk(fx.path)).toBeLessThan(sizeFull / 20);
    backlogOf(outbox, 100_000, 1000);
    expect(values(drain(outbox))).toEqual(readings(100_000, 1000).map((r) => r.v));
  });
});
