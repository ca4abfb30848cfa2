import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Reading } from '@cityedge/contract';
import { Outbox } from '@cityedge/edge-agent';
import { percentile } from './proc-stats.js';
import { meanJsonBytes, pollGroups } from './readings.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

const SECTION = '1. outbox append (SQLite WAL, synchronous=FULL, commit = fsync)';
export const APPEND_TARGET = 250_000;

/** A fresh outbox with the agent's default buffer settings. */
export function freshOutbox(dir: string, logger: Logger): Outbox {
  return new Outbox({
    path: join(dir, 'outbox.db'),
    gatewayId: 'gw-bench',
    maxRows: 2_000_000,
    maxBytes: 512 * 1024 * 1024,
    telemetryOverflow: 'drop-oldest',
    commitIntervalMs: 20,
    logger,
  });
}

/**
 * Appends every group, then flushes; the time runs until the last reading is committed. The
 * loop yields to the event loop every `yieldEvery` calls so the group-commit timer can fire as
 * it would in the agent (in a tight loop the 5,000-pending threshold triggers the commits).
 */
async function timedAppend(outbox: Outbox, groups: readonly Reading[][], yieldEvery: number): Promise<{ seconds: number; commits: number }> {
  let commits = 0;
  const off = outbox.onCommit(() => commits++);
  const t0 = performance.now();
  for (let i = 0; i < groups.length; i++) {
    outbox.appendReadings(groups[i] as Reading[]);
    if (yieldEvery > 0 && i % yieldEvery === yieldEvery - 1) await new Promise((r) => setImmediate(r));
  }
  outbox.flush();
  const seconds = (performance.now() - t0) / 1000;
  off();
  return { seconds, commits };
}

export async function benchOutboxAppend(scope: Scope, logger: Logger, total = 500_000): Promise<Row[]> {
  const rows: Row[] = [];
  const small = pollGroups(total, 10);
  rows.push({ section: SECTION, name: 'reading JSON size (mean)', value: meanJsonBytes(small), unit: 'bytes' });

  {
    const s = scope.child();
    try {
      const outbox = freshOutbox(s.tempDir('cityedge-bench-append-'), logger);
      outbox.start();
      s.defer(() => outbox.stop());
      // Warm-up: JIT and the first pages of the file.
      await timedAppend(outbox, pollGroups(20_000, 10, 50, Date.now() - 3_600_000), 100);
      const r = await timedAppend(outbox, small, 100);
      const st = outbox.stats();
      rows.push({
        section: SECTION,
        name: `${total.toLocaleString('en-US')} readings in calls of 10, committed`,
        value: total / r.seconds,
        unit: 'readings/s',
        target: { op: '>=', value: APPEND_TARGET },
        note: `${r.seconds.toFixed(2)} s, ${r.commits} commits, backlog ${st.backlogRows.toLocaleString('en-US')}`,
      });
    } finally {
      await s.close();
    }
  }

  {
    const s = scope.child();
    try {
      const outbox = freshOutbox(s.tempDir('cityedge-bench-append-'), logger);
      outbox.start();
      s.defer(() => outbox.stop());
      await timedAppend(outbox, pollGroups(20_000, 5000, 50, Date.now() - 3_600_000), 0);
      const big = pollGroups(total, 5000);
      const r = await timedAppend(outbox, big, 0);
      rows.push({
        section: SECTION,
        name: `${total.toLocaleString('en-US')} readings in calls of 5,000, committed`,
        value: total / r.seconds,
        unit: 'readings/s',
        note: `${r.seconds.toFixed(2)} s, ${r.commits} commits (one per call)`,
      });
    } finally {
      await s.close();
    }
  }

  {
    // What one commit of a poll costs the event loop in the live agent (the fsync is synchronous).
    const s = scope.child();
    try {
      const outbox = freshOutbox(s.tempDir('cityedge-bench-commit-'), logger);
      outbox.start();
      s.defer(() => outbox.stop());
      const groups = pollGroups(COMMIT_SAMPLES * 10, 10);
      const ms: number[] = [];
      for (const g of groups) {
        outbox.appendReadings(g);
        const t0 = performance.now();
        outbox.flush();
        ms.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 4));
      }
      const sorted = Float64Array.from(ms).sort();
      const name = 'one commit of 10 readings (fsync), blocking';
      rows.push({ section: SECTION, name: `${name} p50`, value: percentile(sorted, 50), unit: 'ms', note: `${ms.length} commits, 4 ms apart` });
      rows.push({ section: SECTION, name: `${name} p99`, value: percentile(sorted, 99), unit: 'ms' });
      rows.push({ section: SECTION, name: `${name} max`, value: sorted[sorted.length - 1], unit: 'ms' });
    } finally {
      await s.close();
    }
  }
  return rows;
}

const COMMIT_SAMPLES = 500;
