import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Outbox } from './outbox.js';
import { drain, event, eventsOf, eventTypes, nextTurn, OutboxFixture, readings, until, values } from './testing/outbox-fixtures.js';

/**
 * Reliability case 14 on a real SQLite file: PRAGMA max_page_count makes writes fail with
 * SQLITE_FULL exactly as a full disk does, and lifting it is space coming back.
 */
const fx = new OutboxFixture();
beforeEach(() => fx.setup());
afterEach(() => fx.cleanup());

/** Appends numbered readings in commits of `chunk` until a write fails; returns how many are committed. */
function fillUntilFull(outbox: Outbox, chunk = 500): { produced: number; committed: number } {
  let produced = 0;
  let committed = 0;
  while (!outbox.stats().storageFailing) {
    if (produced > 1_000_000) throw new Error('the file never filled up');
    outbox.appendReadings(readings(produced, chunk));
    produced += chunk;
    outbox.flush();
    if (!outbox.stats().storageFailing) committed = produced;
  }
  return { produced, committed };
}

describe('Outbox on a full disk', () => {
  it('keeps every committed row, holds new ones in memory up to the cap (events first), counts exactly what it drops, and has its configured limits again at once', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
    let skew = 0;
    const outbox = fx.make({ maxFileBytes: 512 * 1024, probeMs: 5, maxPendingBytes: 64 * 1024, logger, now: () => Date.now() + skew });
    const filled = fillUntilFull(outbox);
    const committed = filled.committed;
    let produced = filled.produced;
    expect(committed).toBeGreaterThan(1000);
    expect(outbox.stats().backlogRows).toBe(committed);

    // The disk stays full: readings and an alarm arrive, more than memory may hold.
    outbox.appendReadings(readings(produced, 2000));
    produced += 2000;
    outbox.appendEvent(event('flood.alarm'));
    outbox.appendReadings(readings(produced, 3000));
    produced += 3000;
    await new Promise((r) => setTimeout(r, 50));
    const full = outbox.stats();
    expect(full).toMatchObject({ storageFailing: true, dropped: { events: 0 } });
    // What still fitted in the file was committed (the alarm first); nothing committed went.
    expect(full.backlogRows).toBeGreaterThanOrEqual(committed);
    expect(full.pendingBytes).toBeLessThanOrEqual(64 * 1024);
    expect(full.dropped.telemetry).toBeGreaterThan(0);
    expect(full.backlogRows - committed + full.pending + full.dropped.telemetry).toBe(produced - committed + 1);
    expect(lines.some((l) => l.level === 50 && l.msg.includes('outbox write failed'))).toBe(true);
    skew += 30_000;
    await until('a reminder in the log', () => lines.some((l) => l.level === 40 && l.msg.includes('still failing')));

    // Space comes back.
    outbox.limitFileBytes(undefined);
    await until('the outage to end', () => !outbox.stats().storageFailing);
    const back = outbox.stats();
    expect(back).toMatchObject({ pending: 0, dropped: full.dropped, backlogRows: produced - full.dropped.telemetry + 2 });
    expect(lines.some((l) => l.level === 50 && l.msg.includes('could not all be kept'))).toBe(true);

    // The configured limits hold, not anything learnt from the full disk: three times the backlog
    // that filled it goes in without a drop.
    outbox.appendReadings(readings(produced, 3 * committed));
    produced += 3 * committed;
    outbox.flush();
    expect(outbox.stats()).toMatchObject({ dropped: full.dropped, overflowing: false });

    const msgs = drain(outbox);
    const got = values(msgs);
    expect(got.slice(0, committed)).toEqual(Array.from({ length: committed }, (_, i) => i));
    expect(new Set(got).size).toBe(got.length);
    expect(got.length + full.dropped.telemetry).toBe(produced);
    // The alarm went into the last room the file had, before readings; the outage's report when it ended.
    expect(eventTypes(msgs)).toEqual(['flood.alarm', 'buffer.storage_error']);
    const storage = eventsOf(msgs)[1]!;
    expect(storage).toMatchObject({
      severity: 'alarm',
      data: { firstError: 'SQLITE_FULL', droppedTelemetry: full.dropped.telemetry, droppedEvents: 0, keptTelemetry: produced - 3 * committed - committed - full.dropped.telemetry, keptEvents: 1 },
    });
    expect(storage.message).toContain(`${full.dropped.telemetry} readings and 0 events could not be kept`);
  });

  it('deletes acknowledged rows while the disk stays full, and commits held readings into the pages they free', async () => {
    const outbox = fx.make({ maxFileBytes: 512 * 1024, probeMs: 5 });
    const filled = fillUntilFull(outbox);
    const committed = filled.committed;
    let produced = filled.produced;
    outbox.appendReadings(readings(produced, 1000));
    produced += 1000;
    expect(outbox.stats()).toMatchObject({ storageFailing: true, backlogRows: committed });

    const batches = outbox.takeBatches(16, 500);
    expect(batches.length).toBeGreaterThan(0);
    const sent = batches.flatMap((b) => values([JSON.parse(b.payload)]));
    for (const b of batches) outbox.ack(b.seq);
    await until('the held readings to be committed', () => !outbox.stats().storageFailing);

    const msgs = drain(outbox);
    const got = [...sent, ...values(msgs)];
    expect(got).toEqual(Array.from({ length: produced }, (_, i) => i));
    expect(eventsOf(msgs)).toMatchObject([{ type: 'buffer.storage_error', severity: 'warning', data: { droppedTelemetry: 0, keptTelemetry: produced - committed } }]);
    expect(outbox.stats().dropped).toEqual({ telemetry: 0, events: 0 });
  });

  it('loses nothing when a delete fails: the batch is deleted by a later attempt, or sent again with the same seq after a restart', async () => {
    let outbox = fx.make({ probeMs: 5 });
    outbox.appendReadings(readings(0, 100));
    outbox.flush();
    const [first, second] = outbox.takeBatches(2, 50);
    // Another connection holds the write lock: the delete fails (SQLITE_BUSY) like a write on a full disk.
    const other = new Database(fx.path);
    other.exec('BEGIN IMMEDIATE');
    outbox.ack(first!.seq);
    await nextTurn();
    expect(outbox.stats()).toMatchObject({ storageFailing: true, backlogRows: 50, acked: { telemetry: 0 } });
    fx.close(outbox);
    other.exec('ROLLBACK');

    outbox = fx.make({ probeMs: 5 });
    expect(outbox.inflight().map((b) => [b.seq, b.payload])).toEqual([first, second].map((b) => [b!.seq, b!.payload]));

    other.exec('BEGIN IMMEDIATE');
    outbox.ack(first!.seq);
    await nextTurn();
    expect(outbox.stats()).toMatchObject({ storageFailing: true, backlogRows: 50, acked: { telemetry: 0 } });
    other.exec('ROLLBACK');
    other.close();
    await until('the delete to go through', () => !outbox.stats().storageFailing);
    expect(outbox.stats().backlogRows).toBe(50 + 1); // and the buffer.storage_error event
    const msgs = drain(outbox);
    expect(values(msgs)).toEqual(readings(50, 50).map((r) => r.v));
    expect(eventsOf(msgs)).toMatchObject([{ type: 'buffer.storage_error', data: { firstError: 'SQLITE_BUSY', droppedTelemetry: 0, droppedEvents: 0 } }]);
  });
});
