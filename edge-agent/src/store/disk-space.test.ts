import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskSpace, spaceSizing } from './disk-space.js';
import { OutboxFixture } from './testing/outbox-fixtures.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('spaceSizing', () => {
  it('holds back 1/32 of the filesystem, between 128 KiB and 4 MiB, and sizes the WAL to small disks', () => {
    expect(spaceSizing(4 * MiB, 4096)).toEqual({ reserveBytes: 128 * KiB, walAutocheckpointPages: 64, journalSizeLimit: 512 * KiB, lowWaterBytes: 768 * KiB });
    expect(spaceSizing(64 * MiB, 4096).reserveBytes).toBe(2 * MiB);
    expect(spaceSizing(32 * 1024 * MiB, 4096)).toEqual({ reserveBytes: 4 * MiB, walAutocheckpointPages: 2000, journalSizeLimit: 2 * 2000 * 4096, lowWaterBytes: 8 * MiB + 2 * 2000 * 4096 });
  });
});

describe('DiskSpace reserve', () => {
  const fx = new OutboxFixture();
  beforeEach(() => fx.setup());
  afterEach(() => fx.cleanup());

  it('is made at start, let go on a failed write, and made again when there is room', () => {
    const db = new Database(join(fx.dir, 'x.db'));
    try {
      db.pragma('journal_mode = WAL');
      const space = new DiskSpace({ path: join(fx.dir, 'x.db'), logger: pino({ level: 'silent' }), now: Date.now, reserveBytes: 256 * KiB });
      space.start(db);
      const reserve = join(fx.dir, 'x.db-reserve');
      expect(statSync(reserve).size).toBe(256 * KiB);
      expect(space.reserveHeld).toBe(true);
      space.onWriteFailed(db);
      expect(existsSync(reserve)).toBe(false);
      expect(space.reserveHeld).toBe(false);
      expect(space.low).toBe(true);
      expect(space.restoreReserve()).toBe(true);
      expect(statSync(reserve).size).toBe(256 * KiB);
    } finally {
      db.close();
    }
  });
});
