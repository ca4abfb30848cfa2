import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { EventsMessage, TelemetryMessage } from '@cityedge/contract';
import type { Batch, Outbox, OutboxOptions } from './outbox.js';
import { bundleChildScript } from './testing/bundle-child.js';
import { drain, event, eventTypes, nextTurn, OutboxFixture, reading, readings, until, values } from './testing/outbox-fixtures.js';

const fx = new OutboxFixture();
beforeEach(() => fx.setup());
afterEach(() => fx.cleanup());
const make = (overrides: Partial<OutboxOptions> = {}): Outbox => fx.make(overrides);
const close = (outbox: Outbox): void => fx.close(outbox);

/** Resolves after the outbox's next commit that adds rows or batches. */
const nextCommit = (outbox: Outbox) =>
  new Promise<void>((resolve) => {
    const off = outbox.onCommit(() => (off(), resolve()));
  });

/** The batch records in the file, read by another connection. */
function batchRows(): unknown[] {
  const db = new Database(fx.path, { readonly: true });
  try {
    return db.prepare('SELECT seq FROM batches ORDER BY seq').pluck().all();
  } finally {
    db.close();
  }
}

describe('Outbox round trip', () => {
  it('commits, batches events first with gap-free seqs across streams, and deletes on ack', async () => {
    const outbox = make();
    outbox.appendReadings(readings(0, 25));
    outbox.appendEvent(event('device.offline'));
    outbox.appendReadings(readings(25, 5));
    outbox.flush();
    expect(outbox.stats()).toMatchObject({ backlogRows: 31, pending: 0, appended: { telemetry: 30, events: 1 } });

    const first = outbox.takeBatches(3, 10);
    expect(first.map((b) => [b.seq, b.stream, b.count])).toEqual([
      [1, 'events', 1],
      [2, 'telemetry', 10],
      [3, 'telemetry', 10],
    ]);
    const ev = JSON.parse(first[0]!.payload) as EventsMessage;
    expect(ev).toEqual({ v: 1, gw: 'gw-1', seq: 1, events: [event('device.offline')] });
    const tel = JSON.parse(first[1]!.payload) as TelemetryMessage;
    expect(tel).toEqual({ v: 1, gw: 'gw-1', seq: 2, readings: readings(0, 10) });

    outbox.appendEvent(event('device.online', 'info'));
    const second = outbox.takeBatches(5, 10);
    expect(second.map((b) => [b.seq, b.stream, b.count])).toEqual([
      [4, 'events', 1],
      [5, 'telemetry', 10],
    ]);
    expect(outbox.inflight().map((b) => b.seq)).toEqual([1, 2, 3, 4, 5]);

    for (const b of [...first, ...second]) outbox.ack(b.seq);
    expect(outbox.inflight()).toEqual([]);
    await nextTurn();
    expect(outbox.stats()).toMatchObject({ backlogRows: 0, backlogBytes: 0, inflightBatches: 0, acked: { telemetry: 30, events: 2 } });
    expect(outbox.takeBatches(5, 10)).toEqual([]);
  });

  it('commits readings within commitIntervalMs, or at once from 5,000 pending', async () => {
    const outbox = make({ commitIntervalMs: 10 });
    let commits = 0;
    const committed = new Promise<void>((resolve) => outbox.onCommit(() => (++commits, resolve())));
    outbox.appendReadings(readings(0, 3));
    expect(outbox.stats()).toMatchObject({ pending: 3, backlogRows: 0 });
    await committed;
    expect(outbox.stats()).toMatchObject({ pending: 0, backlogRows: 3 });
    outbox.appendReadings(readings(3, 5000));
    expect(outbox.stats()).toMatchObject({ pending: 0, backlogRows: 5003 });
    expect(commits).toBe(2);
  });

  it('coalesces acks: applied after the current turn, once, ignoring unknown and repeated seqs', async () => {
    const outbox = make();
    outbox.appendReadings(readings(0, 50));
    outbox.flush();
    const batches = outbox.takeBatches(5, 10);
    for (const b of batches) outbox.ack(b.seq);
    outbox.ack(batches[0]!.seq);
    outbox.ack(999);
    expect(outbox.inflight()).toEqual([]);
    // acknowledged: no longer waiting to be forwarded, deleted after this turn
    expect(outbox.stats()).toMatchObject({ backlogRows: 0, acked: { telemetry: 0 } });
    await nextTurn();
    expect(outbox.stats()).toMatchObject({ backlogRows: 0, acked: { telemetry: 50 } });
  });

  it('keeps batches when reopened: unacked ones come back with the same seq and payload, and are never regrouped', async () => {
    let outbox = make();
    outbox.appendEvent(event('device.offline'));
    outbox.appendReadings(readings(0, 25));
    outbox.flush();
    const taken = outbox.takeBatches(3, 10);
    outbox.ack(taken[1]!.seq);
    await nextTurn();
    outbox.appendReadings(readings(25, 10));
    close(outbox);

    outbox = make();
    const expected = [taken[0]!, taken[2]!].map((b: Batch) => ({ seq: b.seq, stream: b.stream, count: b.count, payload: b.payload }));
    expect(outbox.inflight().map((b) => ({ seq: b.seq, stream: b.stream, count: b.count, payload: b.payload }))).toEqual(expected);
    const next = outbox.takeBatches(10, 100);
    expect(next.map((b) => [b.seq, b.count])).toEqual([[4, 15]]);
    expect(values([JSON.parse(next[0]!.payload) as TelemetryMessage])).toEqual(readings(20, 15).map((r) => r.v));
    expect(outbox.stats()).toMatchObject({ backlogRows: 26, nextSeq: 5 });
  });

  it('with a drain (batchAhead), an acknowledged batch is deleted by the next transaction the outbox makes anyway: a commit, or taking batches', async () => {
    const outbox = make({ commitIntervalMs: 5, ackLingerMs: 600_000 });
    let window = 2;
    outbox.batchAhead(() => ({ maxMessages: window, maxReadings: 10 }));
    let done = nextCommit(outbox);
    outbox.appendReadings(readings(0, 20));
    await done;
    expect(outbox.takeBatches(2, 10).map((b) => b.seq)).toEqual([1, 2]);
    outbox.ack(1);
    await nextTurn();
    // Not deleted on its own; no longer counted as waiting to be forwarded.
    expect(batchRows()).toEqual([1, 2]);
    expect(outbox.stats()).toMatchObject({ backlogRows: 10, acked: { telemetry: 0 } });

    window = 1;
    done = nextCommit(outbox);
    outbox.appendReadings(readings(20, 5));
    await done;
    expect(batchRows()).toEqual([2, 3]);
    expect(outbox.stats()).toMatchObject({ backlogRows: 15, acked: { telemetry: 10 } });

    // A commit that makes no batch (the window is full) leaves batch 2's ack to taking batches.
    window = 0;
    done = nextCommit(outbox);
    outbox.appendReadings(readings(25, 4));
    await done;
    outbox.ack(2);
    await nextTurn();
    expect(batchRows()).toEqual([2, 3]);
    expect(outbox.takeBatches(2, 10).map((b) => b.seq)).toEqual([3, 4]);
    expect(batchRows()).toEqual([3, 4]);
    expect(outbox.stats()).toMatchObject({ backlogRows: 9, acked: { telemetry: 20 } });
    outbox.batchAhead(undefined);
  });

  it('with a drain and nothing else to write, an acknowledged batch is deleted after ackLingerMs', async () => {
    const outbox = make({ ackLingerMs: 20 });
    outbox.batchAhead(() => ({ maxMessages: 1, maxReadings: 10 }));
    outbox.appendReadings(readings(0, 10));
    outbox.flush();
    const [batch] = outbox.takeBatches(1, 10);
    outbox.ack(batch!.seq);
    await nextTurn();
    expect(outbox.stats().acked.telemetry).toBe(0);
    await until('the delete', () => outbox.stats().acked.telemetry === 10);
    expect(outbox.inflight()).toEqual([]);
    outbox.batchAhead(undefined);
  });

  it('with batchAhead, a commit also makes the batches asked for and deletes acked rows, in one transaction; made batches survive a restart', async () => {
    const outbox = make({ commitIntervalMs: 5 });
    let window = 2;
    outbox.batchAhead(() => ({ maxMessages: window, maxReadings: 10 }));
    let done = nextCommit(outbox);
    outbox.appendReadings(readings(0, 15));
    await done;
    // The commit made both batches (their seqs and ranges are in the file): taking them needs no transaction.
    expect(batchRows()).toEqual([1, 2]);
    const first = outbox.takeBatches(2, 10);
    expect(first.map((b) => [b.seq, b.count])).toEqual([[1, 10], [2, 5]]);
    expect(JSON.parse(first[0]!.payload)).toMatchObject({ seq: 1, readings: readings(0, 10) });

    // An ack while a commit is due is deleted by that commit, which also makes the next batch.
    window = 1;
    done = nextCommit(outbox);
    outbox.appendReadings(readings(15, 3));
    outbox.ack(1);
    await nextTurn();
    expect(batchRows()).toEqual([1, 2]);
    await done;
    expect(batchRows()).toEqual([2, 3]);
    expect(outbox.stats()).toMatchObject({ backlogRows: 8, acked: { telemetry: 10 } });

    // Batch 3 was made and never taken: after a restart it comes back with its seq and bytes.
    const made = outbox.takeBatches(1, 10)[0]!;
    outbox.batchAhead(undefined);
    close(outbox);
    const reopened = make();
    expect(reopened.inflight().map((b) => [b.seq, b.payload])).toEqual([[2, first[1]!.payload], [3, made.payload]]);
    expect(reopened.takeBatches(5, 10)).toEqual([]);
  });

  it('accounts bytes of bodies exactly (UTF-8), across a restart', () => {
    let outbox = make();
    const rs = [reading(1, { u: 'µg/m³' }), reading(2, { v: null, q: 'bad', err: 'EDGE_MODBUS_TIMEOUT', u: undefined }), reading(3)];
    const ev = event('buffer.test');
    outbox.appendReadings(rs);
    outbox.appendEvent(ev);
    const bytes = rs.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0) + Buffer.byteLength(JSON.stringify(ev));
    expect(outbox.stats()).toMatchObject({ backlogRows: 4, backlogBytes: bytes });
    close(outbox);
    outbox = make();
    expect(outbox.stats()).toMatchObject({ backlogRows: 4, backlogBytes: bytes });
    drain(outbox);
    expect(outbox.stats()).toMatchObject({ backlogRows: 0, backlogBytes: 0 });
  });
});

describe('Outbox overflow', () => {
  it('drop-oldest: keeps the newest telemetry, counts exactly, raises one overflow event and a recovered event', () => {
    let now = 1_000_000;
    const outbox = make({ maxRows: 100, now: () => now });
    outbox.appendReadings(readings(0, 150));
    outbox.flush();
    // 50 readings did not fit, and one more made room for the buffer.overflow event
    expect(outbox.stats()).toMatchObject({ backlogRows: 100, dropped: { telemetry: 51, events: 0 }, overflowing: true });
    now += 10_000;
    outbox.appendReadings(readings(150, 10));
    outbox.flush();
    expect(outbox.stats()).toMatchObject({ backlogRows: 100, dropped: { telemetry: 61, events: 0 } });

    const msgs = drain(outbox);
    expect(values(msgs)).toEqual(readings(61, 99).map((r) => r.v));
    const overflow = msgs.flatMap((m) => ('events' in m ? m.events : []));
    expect(overflow.map((e) => e.type)).toEqual(['buffer.overflow']);
    expect(overflow[0]).toMatchObject({ severity: 'alarm', data: { policy: 'drop-oldest', droppedTelemetry: 50, droppedEvents: 0, totalDroppedTelemetry: 50 } });

    outbox.appendReadings(readings(1000, 1));
    outbox.flush();
    const recovered = drain(outbox).flatMap((m) => ('events' in m ? m.events : []));
    expect(recovered).toMatchObject([{ type: 'buffer.recovered', severity: 'info', data: { droppedTelemetry: 61, droppedEvents: 0 } }]);
    expect(outbox.stats().overflowing).toBe(false);
  });

  it('drop-newest: refuses new telemetry and keeps the oldest', () => {
    const outbox = make({ maxRows: 100, telemetryOverflow: 'drop-newest' });
    outbox.appendReadings(readings(0, 150));
    outbox.flush();
    expect(outbox.stats()).toMatchObject({ backlogRows: 100, dropped: { telemetry: 51, events: 0 } });
    const msgs = drain(outbox);
    expect(values(msgs)).toEqual(readings(0, 99).map((r) => r.v));
    expect(eventTypes(msgs)).toEqual(['buffer.overflow']);
  });

  it('rate-limits overflow events to one per interval with exact counts', () => {
    let now = 0;
    const outbox = make({ maxRows: 100, now: () => now, overflowEventIntervalMs: 60_000 });
    outbox.appendReadings(readings(0, 100));
    outbox.flush();
    const batches = outbox.takeBatches(1, 50);
    for (let i = 0; i < 5; i++) {
      now += 20_000;
      outbox.appendReadings(readings(100 + i, 1));
      outbox.flush();
    }
    // each new reading pushed out the oldest unbatched one; each overflow event pushed out one more
    expect(outbox.stats().dropped).toEqual({ telemetry: 7, events: 0 });
    outbox.ack(batches[0]!.seq);
    outbox.flush();
    const events = drain(outbox).flatMap((m) => ('events' in m ? m.events : []));
    expect(events.map((e) => [e.type, e.ts, e.data?.droppedTelemetry])).toEqual([
      ['buffer.overflow', 20_000, 1],
      ['buffer.overflow', 80_000, 4],
      ['buffer.recovered', 100_000, 7],
    ]);
  });

  it('keeps events over telemetry, drops the oldest events only when no telemetry is left, never rows in flight', () => {
    const outbox = make({ maxRows: 100 });
    outbox.appendReadings(readings(0, 60));
    outbox.flush();
    const inflight = outbox.takeBatches(1, 10);
    for (let i = 0; i < 95; i++) outbox.appendEvent(event(`alarm.${i}`));
    // 50 unbatched readings made room first; then the oldest events; the 10 in flight stay
    const stats = outbox.stats();
    expect(stats.backlogRows).toBe(100);
    expect(stats.dropped.telemetry).toBe(50);
    expect(outbox.inflight().map((b) => b.payload)).toEqual(inflight.map((b) => b.payload));
    const msgs = drain(outbox);
    expect(values(msgs)).toEqual(readings(0, 10).map((r) => r.v));
    const types = eventTypes(msgs);
    expect(types).toHaveLength(90);
    expect(types.at(-1)).toBe('alarm.94');
    expect(types).toContain('buffer.overflow');
    expect(stats.dropped.events).toBe(95 + 1 - 90);
  });

  it('bounds bytes as well as rows', () => {
    const one = Buffer.byteLength(JSON.stringify(reading(100)));
    const outbox = make({ maxBytes: one * 50 });
    outbox.appendReadings(readings(100, 100));
    outbox.flush();
    const s = outbox.stats();
    expect(s.backlogBytes).toBeLessThanOrEqual(one * 50);
    expect(s.dropped.telemetry).toBeGreaterThan(50);
    const msgs = drain(outbox);
    const kept = values(msgs);
    expect(kept).toEqual(readings(200 - kept.length, kept.length).map((r) => r.v));
    expect(kept.length + s.dropped.telemetry).toBe(100);
    expect(eventTypes(msgs)).toEqual(['buffer.overflow']);
  });

  it('persists drop counters across restarts', () => {
    let outbox = make({ maxRows: 100 });
    outbox.appendReadings(readings(0, 150));
    outbox.flush();
    close(outbox);
    outbox = make({ maxRows: 100 });
    expect(outbox.stats().dropped).toEqual({ telemetry: 51, events: 0 });
  });
});

describe('Outbox storage', () => {
  it('sets a corrupt file aside and starts a fresh one with a higher seq and a buffer.corrupt event', () => {
    writeFileSync(join(fx.dir, 'outbox.db'), Buffer.alloc(8192, 7));
    const outbox = make({ now: () => 5_000_000 });
    expect(outbox.stats().check).toMatch(/SQLITE_NOTADB/);
    const msgs = drain(outbox);
    expect(eventTypes(msgs)).toEqual(['buffer.corrupt']);
    expect(msgs[0]!.seq).toBe(5_000_000);
  });

  it('refuses files of a newer schema and unusable paths with EDGE_OUTBOX_OPEN', () => {
    const db = new Database(join(fx.dir, 'outbox.db'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => make()).toThrow(expect.objectContaining({ code: 'EDGE_OUTBOX_OPEN' }));
    writeFileSync(join(fx.dir, 'file'), 'x');
    expect(() => make({ path: join(fx.dir, 'file', 'outbox.db') })).toThrow(expect.objectContaining({ code: 'EDGE_OUTBOX_OPEN' }));
  });

  it('loses nothing committed when the process is killed with SIGKILL', async () => {
    const script = await bundleChildScript(fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url)));
    onTestFinished(() => rmSync(script, { force: true }));
    const path = join(fx.dir, 'outbox.db');
    const batches = new Map<number, { hash: string; runs: string }>();
    const acked = new Set<number>();
    const committed: Array<[number, number]> = [];
    for (let round = 0; round < 3; round++) {
      const offset = round * 10_000_000;
      const child = spawn(process.execPath, [script, path, String(offset)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout });
      let commits = 0;
      let upTo = offset;
      await new Promise<void>((resolve) => {
        lines.on('line', (line) => {
          const [kind, a, b, c] = line.split(' ');
          if (kind === 'committed') {
            upTo = Number(a);
            if (++commits === 20 + round * 7) child.kill('SIGKILL');
          } else if (kind === 'batch') batches.set(Number(a), { hash: b!, runs: c! });
          else if (kind === 'ack') acked.add(Number(a));
        });
        child.on('exit', () => resolve());
      });
      expect(commits).toBeGreaterThanOrEqual(20);
      committed.push([offset, upTo]);

      const outbox = make({ gatewayId: 'gw-crash', startupCheck: 'integrity' });
      expect(outbox.stats().check).toBe('ok');
      const inflight = new Map(outbox.inflight().map((x) => [x.seq, x.payload]));
      for (const [seq, batch] of batches) {
        const payload = inflight.get(seq);
        if (payload === undefined) expect(acked.has(seq)).toBe(true);
        else expect(createHash('sha1').update(payload).digest('hex')).toBe(batch.hash);
      }
      close(outbox);
    }
    // every reading reported committed is in the file or in an acked batch, and none is in the file twice
    const outbox = make({ gatewayId: 'gw-crash' });
    const msgs = drain(outbox);
    // seqs are gap-free: what is left plus what was acked is 1..n
    const seqs = [...new Set([...msgs.map((m) => m.seq), ...acked])].sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const inFile = values(msgs);
    expect(new Set(inFile).size).toBe(inFile.length);
    const present = new Set(inFile);
    for (const seq of acked) {
      for (const run of batches.get(seq)!.runs.split(',')) {
        if (run === '-') continue;
        const [from, to] = run.split('-').map(Number) as [number, number];
        for (let v = from; v <= to; v++) present.add(v);
      }
    }
    let missing = 0;
    for (const [from, to] of committed) for (let v = from; v < to; v++) if (!present.has(v)) missing++;
    expect(missing).toBe(0);
    expect(outbox.stats().dropped).toEqual({ telemetry: 0, events: 0 });
  });
});
