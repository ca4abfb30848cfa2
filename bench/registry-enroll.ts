import { randomBytes, scrypt } from 'node:crypto';
import type { Logger } from 'pino';
import { inPool } from './pool.js';
import { createGateways, RATE_LIMIT_NOTE, startBenchRegistry } from './registry-api.js';
import { CpuMeter, percentile } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

const SECTION = '5. registry enrollment over HTTP (SQLite, no broker accounts to write)';

export interface EnrollOptions {
  logger: Logger;
  ticksPerSecond: number;
  gateways?: number;
  concurrency?: number;
  /** Enrollments made one at a time, for the latency of one. */
  sequential?: number;
}

/** The registry's password hashing (security/secrets.ts): scrypt N=16384, r=8, p=1, 32 bytes. */
function scryptOnce(): Promise<void> {
  return new Promise((resolve, reject) => scrypt(randomBytes(32).toString('base64url'), randomBytes(16), 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve())));
}

/**
 * Enrollments/s: the registry (openRegistry on SQLite, HTTP on loopback) with N gateways
 * created over the API, then every one-time code exchanged concurrently with POST /v1/enroll,
 * as `edge-agent enroll` does. Each enrollment hashes a fresh password with scrypt, which runs
 * on libuv's thread pool; the bare scrypt rate is measured beside it as the ceiling.
 */
export async function benchEnroll(scope: Scope, o: EnrollOptions): Promise<Row[]> {
  const n = o.gateways ?? 200;
  const concurrency = o.concurrency ?? 16;
  const nSeq = o.sequential ?? 20;
  const s = scope.child();
  try {
    const { api } = await startBenchRegistry(s, { dataDir: s.tempDir('cityedge-bench-enroll-'), logger: o.logger, brokerUrl: 'mqtt://127.0.0.1:9' });
    const created = await createGateways(api, 'gw', n + nSeq, concurrency);
    const codes = created.codes.slice(0, n);

    const cpu = new CpuMeter(process.pid, o.ticksPerSecond);
    cpu.begin();
    const t0 = performance.now();
    const enrolled = await inPool(codes, concurrency, (code) => api.enroll(code));
    const seconds = (performance.now() - t0) / 1000;
    const cpuPct = cpu.percent();
    if (new Set(enrolled.map((e) => e.gatewayId)).size !== n) throw new Error('enrollment returned duplicate gateway ids');

    const latencies: number[] = [];
    for (const code of created.codes.slice(n)) {
      const t = performance.now();
      await api.enroll(code);
      latencies.push(performance.now() - t);
    }
    const sorted = Float64Array.from(latencies).sort();

    // The ceiling: scrypt alone, same parameters and concurrency, on the same thread pool.
    const hashes = n;
    const h0 = performance.now();
    await inPool(Array.from({ length: hashes }), concurrency, () => scryptOnce());
    const hashSeconds = (performance.now() - h0) / 1000;

    const pool = process.env.UV_THREADPOOL_SIZE ?? '4 (default)';
    return [
      { section: SECTION, name: `gateways created (POST /v1/gateways), ${concurrency} at a time`, value: (n + nSeq) / created.seconds, unit: 'gateways/s', note: `${n + nSeq} in ${created.seconds.toFixed(2)} s (each issues a one-time code)` },
      {
        section: SECTION,
        name: `enrollments (POST /v1/enroll), ${concurrency} at a time`,
        value: n / seconds,
        unit: 'enroll/s',
        note: `${n} in ${seconds.toFixed(2)} s, registry process CPU ${cpuPct?.toFixed(0) ?? 'n/a'} % of a core; ${RATE_LIMIT_NOTE}`,
      },
      { section: SECTION, name: 'one enrollment alone, p50', value: percentile(sorted, 50), unit: 'ms', note: `${nSeq} one after another; max ${sorted[sorted.length - 1]?.toFixed(1) ?? 'n/a'} ms` },
      { section: SECTION, name: `scrypt alone (N=16384 r=8), ${concurrency} at a time`, value: hashes / hashSeconds, unit: 'hashes/s', note: `the ceiling of enrollments/s; libuv thread pool ${pool}` },
    ];
  } finally {
    await s.close();
  }
}
