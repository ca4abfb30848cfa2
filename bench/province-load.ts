import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { openPostgresStore } from '@cityedge/device-registry';
import { cpuText, dynsecMissing, provision, startMosquittoRegistry } from './config-delivery.js';
import { preciseNow } from './fleet-child.js';
import { JsonChild } from './json-child.js';
import { inPool } from './pool.js';
import { postgresUnavailable, tempDatabase } from './pg-temp.js';
import { PROVINCE_FLAG, type ProvinceConnected, type ProvinceDelivered, type ProvinceTelemetryDone } from './province-child.js';
import { CpuMeter, percentile, RssSampler } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

export interface ProvinceOptions {
  logger: Logger;
  benchScript: string;
  ticksPerSecond: number;
  gateways: number;
  /** Processes the simulated gateways are split over (default: one per 2,500 gateways, at least 2). */
  fleetProcesses?: number;
  /** `cityedge-registry ingest` worker processes (default 3). */
  workers?: number;
  /** Seconds between two messages of one gateway (default 30). */
  intervalSec?: number;
  /** Length of the steady telemetry phase in seconds (default 60). */
  steadySec?: number;
  /** Readings per message (default 10). */
  readings?: number;
  /** Connect storm: each gateway's first connect at a random 0..jitterSec (default 10). */
  jitterSec?: number;
}

const PREFIX = 'edge/v1';
const MB = 1024 * 1024;

/** Starts one `cityedge-registry ingest` process (the shipped CLI built beside the bench) and waits until it runs. */
async function startWorker(s: Scope, script: string, id: string, databaseUrl: string, brokerUrl: string, password: string): Promise<number> {
  const proc = spawn(process.execPath, [script, 'ingest', '--database-url', databaseUrl, '--broker-url', brokerUrl, '--worker-id', id, '--log-format', 'json', '--log-level', 'warn', '--stats-interval', '0'], {
    env: { ...process.env, REGISTRY_BROKER_PASSWORD: password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  s.process(proc, 'SIGTERM', 5000);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  proc.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  // At warn level the worker says nothing when it starts well: its broker session is the sign.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 3000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ingest worker ${id} exited ${code}: ${out}`));
    });
  });
  return proc.pid as number;
}

/**
 * The province load (issue 11): N simulated gateways (real MQTT 5 clients with their own enrolled
 * identities, in a few processes) against Mosquitto with dynamic security, the registry on
 * PostgreSQL, and `cityedge-registry ingest` workers in one shared-subscription group. Phases:
 * provisioning (create + enroll over the API), connect storm with jitter, steady telemetry (one
 * message of `readings` readings per gateway per interval, QoS 1), the drain, and a configuration
 * rollout to every gateway. Readings lost are counted by sequence: every PUBACKed (gateway, seq)
 * must be in PostgreSQL.
 */
export async function benchProvince(scope: Scope, o: ProvinceOptions): Promise<Row[]> {
  const n = o.gateways;
  const procs = o.fleetProcesses ?? Math.max(2, Math.ceil(n / 2500));
  const workerCount = o.workers ?? 3;
  const intervalMs = (o.intervalSec ?? 30) * 1000;
  const steadyMs = (o.steadySec ?? 60) * 1000;
  const readings = o.readings ?? 10;
  const jitterMs = (o.jitterSec ?? 10) * 1000;
  const section = `15. province: ${n.toLocaleString('en-US')} gateways, mosquitto (dynamic security), ${workerCount} ingest workers, PostgreSQL`;
  const missing = dynsecMissing() ?? (await postgresUnavailable());
  if (missing) return [{ section, name: 'province load', value: undefined, unit: '', note: `skipped: ${missing}` }];
  const rows: Row[] = [];
  const row = (name: string, value: number | undefined, unit: string, note?: string) => rows.push({ section, name, value, unit, ...(note && { note }) });

  const s = scope.child();
  try {
    const databaseUrl = await tempDatabase(s);
    const m = await startMosquittoRegistry(s, o.logger, 'max_queued_messages 1000000\nmax_inflight_messages 100\n', databaseUrl);
    const store = await openPostgresStore({ databaseUrl, maxConnections: 2 });
    s.defer(() => store.close());

    // Provisioning: every gateway its own identity in the registry and in Mosquitto.
    const p = await provision(m, 'pv', n, 16, o.ticksPerSecond);
    row(`provisioning: enroll ${n.toLocaleString('en-US')} gateways (registry on PostgreSQL, dynsec)`, n / p.seconds, 'enroll/s', `${p.seconds.toFixed(1)} s; ${p.cpu}`);

    const registryScript = join(dirname(o.benchScript), 'cityedge-registry.js');
    const workerPids: number[] = [];
    for (let i = 1; i <= workerCount; i++) workerPids.push(await startWorker(s, registryScript, `w${i}`, databaseUrl, m.mosq.url, m.servicePassword));

    // Connect storm.
    const fleet = Array.from({ length: procs }, () => new JsonChild(s, o.benchScript, PROVINCE_FLAG));
    const mosqRss = m.mosqPid === undefined ? undefined : new RssSampler(m.mosqPid, 1000);
    mosqRss?.start();
    const c0 = performance.now();
    fleet.forEach((child, i) => child.send({ connect: { url: m.mosq.url, prefix: PREFIX, gateways: p.enrolled.filter((_, k) => k % procs === i), jitterMs, concurrency: 200 } }));
    const connected = await Promise.all(fleet.map((c) => c.take<ProvinceConnected>('connected', 600_000)));
    const stormSeconds = (performance.now() - c0) / 1000;
    const ready = Float64Array.from(connected.flatMap((c) => c.readyMs)).sort();
    const held = connected.reduce((a, c) => a + c.count, 0);
    row('connect storm: gateways connected and subscribed', held, `of ${n}`, `${stormSeconds.toFixed(1)} s with ${(jitterMs / 1000).toFixed(0)} s jitter; ready p50 ${fmt(percentile(ready, 50))} ms, p99 ${fmt(percentile(ready, 99))} ms after the storm began`);

    // Steady telemetry.
    const meters = [m.mosqPid, ...workerPids, ...fleet.map((f) => f.pid)].map((pid) => (pid === undefined ? undefined : new CpuMeter(pid, o.ticksPerSecond)));
    const rssWorkers = workerPids.map((pid) => new RssSampler(pid, 1000));
    const rssFleet = fleet.map((f) => new RssSampler(f.pid, 1000));
    [...rssWorkers, ...rssFleet].forEach((r) => r.start());
    meters.forEach((mt) => mt?.begin());
    const steadyFrom = Date.now();
    fleet.forEach((child) => child.send({ telemetry: { intervalMs, durationMs: steadyMs, readings } }));
    const done = await Promise.all(fleet.map((c) => c.take<ProvinceTelemetryDone>('telemetry', steadyMs + 180_000)));
    const steadyTo = Date.now();
    const cpu = meters.map((mt) => mt?.percent());
    const acked = done.flatMap((d) => d.acked);
    const ackedCount = acked.reduce((a, [, seqs]) => a + seqs.length, 0);
    const sent = done.reduce((a, d) => a + d.sent, 0);

    // Drain: wait until every PUBACKed message is in PostgreSQL (or stops coming).
    const d0 = performance.now();
    let stored = 0;
    for (let last = -1, still = 0; still < 30; ) {
      stored = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM telemetry_batches`.execute(store.db)).rows[0]!.n;
      if (stored >= ackedCount) break;
      still = stored === last ? still + 1 : 0;
      last = stored;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const drainSeconds = (performance.now() - d0) / 1000;
    const stats = (
      await sql<{ msgs: number; first: number; last: number; p50: number; p99: number; max: number }>`
        SELECT count(*)::int AS msgs, min(b.received_at) AS first, max(b.received_at) AS last,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY b.received_at - t.ts) AS p50,
               percentile_disc(0.99) WITHIN GROUP (ORDER BY b.received_at - t.ts) AS p99,
               max(b.received_at - t.ts) AS max
        FROM telemetry_batches b JOIN telemetry t ON t.gateway_id = b.gateway_id AND t.seq = b.seq AND t.idx = 0`.execute(store.db)
    ).rows[0]!;
    const inWindow = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM telemetry_batches WHERE received_at BETWEEN ${steadyFrom} AND ${steadyTo}`.execute(store.db)).rows[0]!.n;
    const storedSet = new Set((await sql<{ k: string }>`SELECT gateway_id || '/' || seq AS k FROM telemetry_batches`.execute(store.db)).rows.map((r) => r.k));
    let lost = 0;
    for (const [gw, seqs] of acked) for (const seq of seqs) if (!storedSet.has(`${gw}/${seq}`)) lost++;
    const dupReadings = (await sql<{ n: number }>`SELECT count(*)::int - count(DISTINCT (gateway_id, seq, idx))::int AS n FROM telemetry`.execute(store.db)).rows[0]!.n;
    const steadySeconds = (steadyTo - steadyFrom) / 1000;
    row('telemetry offered (QoS 1 PUBLISH)', sent / steadySeconds, 'msg/s', `${sent.toLocaleString('en-US')} messages of ${readings} readings in ${steadySeconds.toFixed(0)} s, one per gateway every ${intervalMs / 1000} s; ${ackedCount.toLocaleString('en-US')} PUBACKed`);
    row('ingested during the steady phase', inWindow / steadySeconds, 'msg/s', `${((inWindow * readings) / steadySeconds).toFixed(0)} readings/s into PostgreSQL by ${workerCount} workers`);
    row('ingest lag (gateway send -> committed), p99', stats.p99, 'ms', `p50 ${fmt(stats.p50)} ms, max ${fmt(stats.max)} ms; drain after the phase ${drainSeconds.toFixed(1)} s`);
    row('readings lost among PUBACKed messages (by sequence)', lost * readings, 'readings', `${stored.toLocaleString('en-US')} messages stored of ${ackedCount.toLocaleString('en-US')} PUBACKed; duplicate rows ${dupReadings}`);
    row('connections held at the end of the steady phase', done.reduce((a, d) => a + d.connected, 0), `of ${n}`, `${done.reduce((a, d) => a + d.reconnects, 0)} reconnects during it`);
    const workerCpu = cpu.slice(1, 1 + workerCount);
    const fleetCpu = cpu.slice(1 + workerCount);
    row('CPU during the steady phase', cpu[0], '% mosquitto', `workers ${workerCpu.map(cpuText).join(', ')}; gateway processes ${fleetCpu.map(cpuText).join(', ')}`);

    // Configuration rollout to every gateway.
    const r0 = preciseNow();
    await inPool(p.enrolled, 16, (g) => m.bench.api.issueComposedConfig(g.gatewayId));
    const issuedSeconds = (preciseNow() - r0) / 1000;
    const delivered = await Promise.all(fleet.map((c) => c.take<ProvinceDelivered>('delivered', 600_000)));
    const times = delivered.flatMap((d) => Object.values(d.receivedAt));
    row('config rollout: first issue call -> last gateway received', (Math.max(...times) - r0) / 1000, 's', `${times.length.toLocaleString('en-US')} of ${n} received; issue calls (16 at a time) took ${issuedSeconds.toFixed(1)} s`);

    const mosq = mosqRss?.stop();
    const wk = rssWorkers.map((r) => r.stop());
    const fl = rssFleet.map((r) => r.stop());
    row('memory: mosquitto RSS, max', mosq?.max === undefined ? undefined : mosq.max / MB, 'MiB', mosq?.max === undefined ? undefined : `${((mosq.max / n) / 1024).toFixed(1)} KiB per connected gateway`);
    row('memory: ingest worker RSS, max', Math.max(...wk.map((w) => w.max ?? 0)) / MB, 'MiB', `each of ${workerCount}`);
    const fleetMax = fl.reduce((a, f) => a + (f.anonMax ?? 0), 0);
    row('memory: simulated gateways, anonymous RSS', fleetMax / MB, 'MiB', `${((fleetMax / n) / 1024).toFixed(1)} KiB per MQTT.js gateway, ${procs} processes`);
    row('broker node killed and restarted mid-run', undefined, '', 'not run: one Mosquitto here; a node killed -9 under ingest workers is tested on the RabbitMQ cluster (tests/integration/ingest-workers.test.ts)');
    return rows;
  } finally {
    await s.close();
  }
}

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(0));
