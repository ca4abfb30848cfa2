import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { DynsecClient, MosquittoDynsec, MosquittoDynsecProcess } from '@cityedge/device-registry';
import { RECONNECT_MAX_MS_DEFAULT } from '@cityedge/contract';
import { findMosquitto, startAedesChild } from './children.js';
import { preciseNow } from './fleet-child.js';
import { JsonChild } from './json-child.js';
import { inPool } from './pool.js';
import { percentile } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';
import { STORM_FLAG, type CapacityResult, type StormGateway, type StormResult } from './storm-child.js';

export interface StormOptions {
  logger: Logger;
  benchScript: string;
  /** Gateways per broker. */
  gateways?: number;
  /** How long the broker is gone: long enough for every gateway's backoff to reach its cap. */
  outageMs?: number;
  /** Backoff caps to compare (the default first). */
  capsMs?: readonly number[];
  withMosquitto?: boolean;
}

/** A broker that can be stopped and started again on the same port. */
interface Restartable {
  kind: string;
  url: string;
  gateways: StormGateway[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The most CONNACKs in any one second. */
function peakPerSecond(times: readonly number[]): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while ((times[hi] as number) - (times[lo] as number) >= 1000) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

async function aedesBroker(scope: Scope, benchScript: string, n: number): Promise<Restartable> {
  let s = scope.child();
  const first = await startAedesChild(s, benchScript);
  return {
    kind: 'aedes (no authentication)',
    url: first.url,
    gateways: Array.from({ length: n }, (_, i) => ({ id: `gw-storm-${i}`, protocolVersion: 4 as const })),
    stop: () => s.close(),
    start: async () => {
      s = scope.child();
      await startAedesChild(s, benchScript, first.port);
    },
  };
}

/** Mosquitto with dynamic security and one account per gateway, as the registry provisions them. */
async function mosquittoBroker(scope: Scope, logger: Logger, n: number): Promise<Restartable> {
  const mosq = new MosquittoDynsecProcess({ dir: scope.tempDir('cityedge-bench-storm-') });
  scope.defer(() => mosq.stop());
  await mosq.start();
  const admin = new DynsecClient({ connection: mosq.adminConnection(), logger, timeoutMs: 60_000 });
  await admin.start();
  const dynsec = new MosquittoDynsec({ transport: admin, logger, prefix: 'edge/v1' });
  await dynsec.ensureDefaults();
  const gateways = Array.from({ length: n }, (_, i) => ({ id: `gw-storm-${i}`, password: randomBytes(18).toString('base64url'), protocolVersion: 5 as const }));
  await inPool(gateways, 16, (g) => dynsec.provisionGateway(g.id, g.password));
  await admin.stop();
  return { kind: 'Mosquitto with dynamic security (a password per gateway)', url: mosq.url, gateways, stop: () => mosq.stop(), start: () => mosq.start().then(() => undefined) };
}

/**
 * The reconnect storm: N gateways (the agent's Backoff with full jitter, one fresh client per
 * attempt) lose the broker for `outageMs`, then it comes back. First the broker's connect
 * capacity (N fresh connections as fast as it takes them), then per backoff cap: when each
 * gateway got back (p50, p99, last) and the most connects in one second the broker had to absorb.
 */
export async function benchReconnectStorm(scope: Scope, opts: StormOptions): Promise<Row[]> {
  const n = opts.gateways ?? 1000;
  const outageMs = opts.outageMs ?? 45_000;
  const caps = opts.capsMs ?? [RECONNECT_MAX_MS_DEFAULT, 60_000];
  const rows: Row[] = [];
  const kinds: Array<(s: Scope) => Promise<Restartable>> = [(s) => aedesBroker(s, opts.benchScript, n)];
  if (opts.withMosquitto && findMosquitto()) kinds.push((s) => mosquittoBroker(s, opts.logger, n));
  for (const make of kinds) {
    const s = scope.child();
    try {
      const broker = await make(s);
      const section = `13. reconnect storm: ${n.toLocaleString('en-US')} gateways, ${broker.kind}, ${outageMs / 1000} s outage`;
      const child = new JsonChild(s, opts.benchScript, STORM_FLAG);
      child.send({ capacity: { url: broker.url, gateways: broker.gateways, concurrency: 100 } });
      const cap = await child.take<CapacityResult>('capacity', 300_000);
      const absorbed = cap.connects / cap.seconds;
      rows.push({ section, name: 'connects absorbed (fresh connections, 100 at once)', value: absorbed, unit: '/s', note: `${cap.connects} in ${cap.seconds.toFixed(1)} s, ${cap.failures} failed` });
      for (const capMs of caps) {
        child.send({ fleet: { url: broker.url, gateways: broker.gateways, minMs: 1000, maxMs: capMs, stableAfterMs: 10_000 } });
        await child.take<number>('up', 300_000);
        const downAt = preciseNow();
        await broker.stop();
        await sleep(outageMs);
        await broker.start();
        child.send({ returned: { downAt, upAt: preciseNow() } });
        const r = await child.take<StormResult>('storm', capMs + 300_000);
        const d = Float64Array.from(r.delaysMs);
        const peak = peakPerSecond(r.connackAt);
        const label = `cap ${capMs / 1000} s${capMs === RECONNECT_MAX_MS_DEFAULT ? ' (default)' : ''}`;
        rows.push(
          { section, name: `${label}: back after the broker listens again, p50 / p99`, value: percentile(d, 50), unit: 'ms', note: `p99 ${percentile(d, 99)?.toFixed(0)} ms` },
          { section, name: `${label}: last gateway back`, value: d[d.length - 1], unit: 'ms', ...(capMs === RECONNECT_MAX_MS_DEFAULT && { target: { op: '<=' as const, value: capMs + 5000 } }) },
          { section, name: `${label}: most connects in one second`, value: peak, unit: '/s', ...(capMs === RECONNECT_MAX_MS_DEFAULT && { target: { op: '<=' as const, value: Math.round(absorbed / 2) } }), note: `${r.failedAfter} attempts failed after the return; ${r.attempts} attempts in all; target: half the measured capacity` },
        );
      }
    } finally {
      await s.close();
    }
  }
  return rows;
}
