import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';

const MB = 2 ** 20;

/**
 * Gives back the memory a burst of work took: a backlog sent after a broker outage. V8 keeps an
 * old generation it grew for as long as the allocation rate stays high, and at a steady 5,000
 * readings/s it stays high: measured, the agent kept 10-15 MB more for minutes after a one-minute
 * outage's drain (issue 8). One full collection once the burst is over returns it, at once with
 * --single-threaded. It needs `--expose-gc` (the systemd unit sets it); without it only the
 * `caches` (e.g. SQLite's page cache) are let go.
 *
 * That one collection compacts: it moves what is left out of part-empty pages so that they can go
 * (RSS 30 s after the bench's outage: 73.8 MB without, 69.4 with compaction). V8 reads the flag
 * when a collection starts, so it is set for this one only: compacting every full collection made
 * each one a 45-67 ms pause instead of 3-6 ms at 5,000 readings/s (measured with --trace-gc).
 */
export function releaseMemory(log: Logger, why: Record<string, unknown>, caches: ReadonlyArray<() => void> = []): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const before = process.memoryUsage();
  const t0 = performance.now();
  for (const release of caches) release();
  if (typeof gc === 'function') {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  }
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  const mb = (n: number) => Math.round((n / MB) * 10) / 10;
  log.info({ ...why, ms: Math.round(ms), heapMb: [mb(before.heapTotal), mb(after.heapTotal)], rssMb: [mb(before.rss), mb(after.rss)] }, 'a backlog was sent; gave back the memory it took');
}
