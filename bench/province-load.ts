import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { openPostgresStore, type RegistryStore } from '@cityedge/device-registry';
import { hashPassword, hashRandomSecret, randomPassword, verifyPassword } from '../device-registry/src/security/secrets.js';
import { cpuText, dynsecMissing } from './config-delivery.js';
import { preciseNow } from './fleet-child.js';
import { JsonChild } from './json-child.js';
import { inPool } from './pool.js';
import { postgresUnavailable, tempDatabase } from './pg-temp.js';
import { PROVINCE_FLAG, type Failures, type ProvinceConnected, type ProvinceDelivered, type ProvinceTelemetryDone } from './province-child.js';
import { mosquittoStack, rabbitStack, type ProvinceStack, type Watched } from './province-stacks.js';
import { CpuMeter, percentile, RssSampler, type RssSummary } from './proc-stats.js';
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
  /** mosquitto (default) or rabbitmq (the 3-node cluster, a node killed -9 mid-run). */
  broker?: ProvinceBroker;
  /** rabbitmq: seconds into the steady phase the node is killed (default a quarter of it). */
  killAfterSec?: number;
  /** rabbitmq: seconds after the kill the node is started again (default 30). */
  restartAfterSec?: number;
  /** rabbitmq: clean MQTT sessions instead of the persistent ones the registry composes for a cluster. */
  cleanSessions?: boolean;
}

export type ProvinceBroker = 'mosquitto' | 'rabbitmq';
export const PROVINCE_BROKERS: readonly ProvinceBroker[] = ['mosquitto', 'rabbitmq'];

const PREFIX = 'edge/v1';
/** Gateways not connected this long after the storm began are reported as not connected. */
const STORM_TIMEOUT_MS = 900_000;
const MB = 1024 * 1024;

/** Starts one `cityedge-registry ingest` process (the shipped CLI built beside the bench) and waits until it runs. */
async function startWorker(s: Scope, script: string, id: string, databaseUrl: string, brokerArgs: string[], password: string): Promise<number> {
  const proc = spawn(process.execPath, [script, 'ingest', '--database-url', databaseUrl, ...brokerArgs, '--worker-id', id, '--log-format', 'json', '--log-level', 'warn', '--stats-interval', '0'], {
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

type AddRow = (name: string, value: number | undefined, unit: string, note?: string) => void;

/**
 * The province load (issue 11): N simulated gateways (lean MQTT 3.1.1 clients with their own
 * enrolled identities, in a few processes) against Mosquitto with dynamic security or the 3-node
 * RabbitMQ cluster, the registry on PostgreSQL, and `cityedge-registry ingest` workers. Phases:
 * provisioning (create + enroll over the API), connect storm with jitter, steady telemetry (one
 * message of `readings` readings per gateway per interval, QoS 1; on the cluster one node is
 * killed -9 and restarted during it), the drain, and a configuration rollout to every gateway.
 * Readings lost are counted by sequence: every PUBACKed (gateway, seq) must be in PostgreSQL.
 */
export async function benchProvince(scope: Scope, o: ProvinceOptions): Promise<Row[]> {
  const n = o.gateways;
  const broker = o.broker ?? 'mosquitto';
  const workerCount = o.workers ?? 3;
  const section = `15. province: ${n.toLocaleString('en-US')} gateways, ${broker}, ${workerCount} ingest workers, PostgreSQL`;
  const missing = (broker === 'mosquitto' ? dynsecMissing() : undefined) ?? (await postgresUnavailable());
  if (missing) return [{ section, name: 'province load', value: undefined, unit: '', note: `skipped: ${missing}` }];
  const rows: Row[] = [];
  const row: AddRow = (name, value, unit, note) => rows.push({ section, name, value, unit, ...(note && { note }) });

  const s = scope.child();
  try {
    const databaseUrl = await tempDatabase(s);
    const registryScript = join(dirname(o.benchScript), 'cityedge-registry.js');
    const stackOptions = { logger: o.logger, ticksPerSecond: o.ticksPerSecond, gateways: n, databaseUrl, registryScript, prefix: 'pv', cleanSessions: o.cleanSessions === true };
    const stack = broker === 'rabbitmq' ? await rabbitStack(s, stackOptions) : await mosquittoStack(s, stackOptions);
    const store = await openPostgresStore({ databaseUrl, maxConnections: 2 });
    s.defer(() => store.close());
    row(`provisioning: enroll ${n.toLocaleString('en-US')} gateways over the API (${stack.label})`, n / stack.enrollSeconds, 'enroll/s', `${stack.enrollSeconds.toFixed(1)} s, 16 at a time; ${stack.enrollCpu}`);
    await hashCostRow(row);

    const workers: Watched[] = [];
    for (let i = 1; i <= workerCount; i++) workers.push({ name: `worker ${i}`, pid: await startWorker(s, registryScript, `w${i}`, databaseUrl, stack.workerArgs, stack.workerPassword) });
    const procs = o.fleetProcesses ?? Math.max(2, Math.ceil(n / 2500));
    const fleet = Array.from({ length: procs }, () => new JsonChild(s, o.benchScript, PROVINCE_FLAG));
    const watched = [...(stack.registry ? [stack.registry] : []), ...workers, ...fleet.map((f, i) => ({ name: `gateways ${i + 1}`, pid: f.pid }))];
    const memory = new MemoryWatch(stack, watched);
    s.defer(() => void memory.stop());

    try {
      await connectStorm(o, stack, fleet, row);
      const steady = await steadyPhase(o, stack, fleet, watched, memory, row);
      await lossRows(store, steady, o.readings ?? 10, workerCount, row);
      await rollout(stack, fleet, row);
    } catch (err) {
      // Where a size stops fitting is a result: the phases measured so far are kept.
      row('run stopped', undefined, '', (err as Error).message.split('\n')[0]!);
    }
    memory.rows(n, procs, row);
    if (!stack.chaos) row('broker node killed and restarted mid-run', undefined, '', 'not run: one Mosquitto here; see the rabbitmq broker (--province-broker rabbitmq)');
    return rows;
  } finally {
    await s.close();
  }
}

/** What checking one gateway login costs the registry: scrypt (gateways enrolled before) against the salted SHA-256 of new enrollments, in one run. */
async function hashCostRow(row: AddRow): Promise<void> {
  const secret = randomPassword();
  const rate = async (stored: string, count: number) => {
    const t0 = performance.now();
    await inPool(Array.from({ length: count }), 4, () => verifyPassword(secret, stored));
    return count / ((performance.now() - t0) / 1000);
  };
  const scrypt = await rate(await hashPassword(secret), 40);
  const sha = await rate(hashRandomSecret(secret), 20_000);
  row('gateway password check (each uncached broker login, each config fetch)', sha, 'checks/s', `salted SHA-256 (new enrollments); scrypt N=16384 (older ones) ${scrypt.toFixed(0)} checks/s, 4 at a time in the bench process`);
}

/** Every gateway's first connect at a random moment of the jitter window; the CONNACK + SUBACK times. */
async function connectStorm(o: ProvinceOptions, stack: ProvinceStack, fleet: JsonChild[], row: AddRow): Promise<void> {
  const jitterMs = (o.jitterSec ?? 10) * 1000;
  const n = stack.gateways.length;
  const registryCpu = stack.registry && new CpuMeter(stack.registry.pid, o.ticksPerSecond);
  registryCpu?.begin();
  const c0 = performance.now();
  fleet.forEach((child, i) => child.send({ connect: { prefix: PREFIX, gateways: stack.gateways.filter((_, k) => k % fleet.length === i), jitterMs, backoffMinMs: 1000, timeoutMs: STORM_TIMEOUT_MS, cleanSession: !stack.persistentSessions } }));
  const connected = await Promise.all(fleet.map((c) => c.take<ProvinceConnected>('connected', STORM_TIMEOUT_MS + 60_000)));
  const seconds = (performance.now() - c0) / 1000;
  const ready = Float64Array.from(connected.flatMap((c) => c.readyMs)).sort();
  const held = connected.reduce((a, c) => a + c.count, 0);
  row(`connect storm: gateways connected and subscribed (${stack.persistentSessions ? 'persistent' : 'clean'} MQTT sessions)`, held, `of ${n}`, `${seconds.toFixed(1)} s with ${(jitterMs / 1000).toFixed(0)} s jitter; ready p50 ${fmt(percentile(ready, 50))} ms, p99 ${fmt(percentile(ready, 99))} ms after the storm began; failed attempts, retried: ${failuresText(connected.map((c) => c.failures))}`);
  const perNode = stack.brokerUrls.length < 2 ? '' : `; connected per node: ${stack.brokerUrls.map((u, i) => `node ${i + 1} ${connected.reduce((a, c) => a + (c.perUrl[u] ?? 0), 0)}`).join(', ')}`;
  row('connect storm: logins accepted (CONNACK + SUBACK)', held / ((ready.at(-1) ?? 0) / 1000), '/s', `storm start to last gateway ready${registryCpu ? `; CPU registry (auth backend) ${cpuText(registryCpu.percent())}` : ''}${perNode}`);
}

interface Steady {
  from: number;
  to: number;
  done: ProvinceTelemetryDone[];
}

/** Steady telemetry; on a cluster one node is killed -9 during it and started again. */
async function steadyPhase(o: ProvinceOptions, stack: ProvinceStack, fleet: JsonChild[], watched: Watched[], memory: MemoryWatch, row: AddRow): Promise<Steady> {
  const steadyMs = (o.steadySec ?? 60) * 1000;
  const intervalMs = (o.intervalSec ?? 30) * 1000;
  const readings = o.readings ?? 10;
  const meters = [...stack.brokers(), ...watched].map((w) => ({ name: w.name, meter: new CpuMeter(w.pid, o.ticksPerSecond) }));
  meters.forEach((m) => m.meter.begin());
  const from = Date.now();
  fleet.forEach((child) => child.send({ telemetry: { intervalMs, durationMs: steadyMs, readings } }));
  const chaos = stack.chaos && runChaos(stack.chaos, (o.killAfterSec ?? steadyMs / 4000) * 1000, (o.restartAfterSec ?? 30) * 1000, memory);
  const done = await Promise.all(fleet.map((c) => c.take<ProvinceTelemetryDone>('telemetry', steadyMs + 180_000)));
  const to = Date.now();
  row('CPU during the steady phase', undefined, '', meters.map((m) => `${m.name} ${cpuText(m.meter.percent())}`).join(', '));
  if (chaos) chaosRows(await chaos, done, stack.gateways.length, row);
  row('connections held at the end of the steady phase', done.reduce((a, d) => a + d.connected, 0), `of ${stack.gateways.length}`, `${done.reduce((a, d) => a + d.outages.length, 0)} connections lost during it`);
  return { from, to, done };
}

interface ChaosTimes {
  label: string;
  killedAt: number;
  restartedAt: number;
  restartSeconds: number;
  /** Why the node did not come back, if it did not. */
  restartError: string | undefined;
}

async function runChaos(chaos: NonNullable<ProvinceStack['chaos']>, killAfterMs: number, restartAfterMs: number, memory: MemoryWatch): Promise<ChaosTimes> {
  await sleep(killAfterMs);
  const killedAt = Date.now();
  await chaos.kill();
  await sleep(restartAfterMs);
  const r0 = Date.now();
  // A node that does not come back is a result of the run (its rows are kept), not a failure of the bench.
  const restartError = await chaos.restart().then(
    () => undefined,
    (err: Error) => err.message.split(':')[0]!,
  );
  memory.watchBrokers();
  return { label: chaos.label, killedAt, restartedAt: r0, restartSeconds: (Date.now() - r0) / 1000, restartError };
}

/** The reconnect spread: for each connection lost after the kill, the time from the kill until it was back. */
function chaosRows(c: ChaosTimes, done: ProvinceTelemetryDone[], n: number, row: AddRow): void {
  const outages = done.flatMap((d) => d.outages).filter(([lostAt]) => lostAt >= c.killedAt - 1000 && lostAt < c.killedAt + 10_000);
  const back = Float64Array.from(outages.filter(([, b]) => b !== null).map(([, b]) => b! - c.killedAt)).sort();
  const s = (v: number | undefined) => (v === undefined ? 'n/a' : `${(v / 1000).toFixed(1)} s`);
  row(`${c.label} killed -9 mid-run: gateways that lost their connection`, outages.length, `of ${n}`, `restarted ${((c.restartedAt - c.killedAt) / 1000).toFixed(0)} s after the kill, ${c.restartError ? `not back: ${c.restartError}` : `listening again ${c.restartSeconds.toFixed(1)} s later`}`);
  row('reconnect spread after the kill (kill -> CONNACK + SUBACK on another node)', percentile(back, 99) === undefined ? undefined : percentile(back, 99)! / 1000, 's p99', `first ${s(back[0])}, p50 ${s(percentile(back, 50))}, last ${s(back.at(-1))}; ${outages.length - back.length} not back by the end of the phase; failed attempts during the phase: ${failuresText(done.map((d) => d.failures))}`);
}

/** Drain, then ingest rate, lag and loss: every PUBACKed (gateway, seq) must be in PostgreSQL. */
async function lossRows(store: RegistryStore, steady: Steady, readings: number, workerCount: number, row: AddRow): Promise<void> {
  const acked = steady.done.flatMap((d) => d.acked);
  const ackedCount = acked.reduce((a, [, seqs]) => a + seqs.length, 0);
  const made = steady.done.reduce((a, d) => a + d.made, 0);
  const resent = steady.done.reduce((a, d) => a + d.resent, 0);
  const d0 = performance.now();
  let stored = 0;
  for (let last = -1, still = 0; still < 30; ) {
    stored = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM telemetry_batches`.execute(store.db)).rows[0]!.n;
    if (stored >= ackedCount) break;
    still = stored === last ? still + 1 : 0;
    last = stored;
    await sleep(1000);
  }
  const drainSeconds = (performance.now() - d0) / 1000;
  const stats = (
    await sql<{ p50: number; p99: number; max: number }>`
      SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY b.received_at - t.ts) AS p50,
             percentile_disc(0.99) WITHIN GROUP (ORDER BY b.received_at - t.ts) AS p99,
             max(b.received_at - t.ts) AS max
      FROM telemetry_batches b JOIN telemetry t ON t.gateway_id = b.gateway_id AND t.seq = b.seq AND t.idx = 0`.execute(store.db)
  ).rows[0]!;
  const inWindow = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM telemetry_batches WHERE received_at BETWEEN ${steady.from} AND ${steady.to}`.execute(store.db)).rows[0]!.n;
  const storedSet = new Set((await sql<{ k: string }>`SELECT gateway_id || '/' || seq AS k FROM telemetry_batches`.execute(store.db)).rows.map((r) => r.k));
  let lost = 0;
  for (const [gw, seqs] of acked) for (const seq of seqs) if (!storedSet.has(`${gw}/${seq}`)) lost++;
  const dupReadings = (await sql<{ n: number }>`SELECT count(*)::int - count(DISTINCT (gateway_id, seq, idx))::int AS n FROM telemetry`.execute(store.db)).rows[0]!.n;
  const seconds = (steady.to - steady.from) / 1000;
  row('telemetry made (QoS 1 PUBLISH)', made / seconds, 'msg/s', `${made.toLocaleString('en-US')} messages of ${readings} readings in ${seconds.toFixed(0)} s; ${ackedCount.toLocaleString('en-US')} PUBACKed; ${resent} published again after a lost connection`);
  row('ingested during the steady phase', inWindow / seconds, 'msg/s', `${((inWindow * readings) / seconds).toFixed(0)} readings/s into PostgreSQL by ${workerCount} workers`);
  row('ingest lag (gateway send -> committed), p99', stats.p99, 'ms', `p50 ${fmt(stats.p50)} ms, max ${fmt(stats.max)} ms; drain after the phase ${drainSeconds.toFixed(1)} s`);
  row('readings lost among PUBACKed messages (by sequence)', lost * readings, 'readings', `${stored.toLocaleString('en-US')} messages stored of ${ackedCount.toLocaleString('en-US')} PUBACKed; duplicate reading rows ${dupReadings}`);
}

/** A composed configuration issued to every gateway; the time until the last one received it. */
async function rollout(stack: ProvinceStack, fleet: JsonChild[], row: AddRow): Promise<void> {
  const n = stack.gateways.length;
  const r0 = preciseNow();
  await inPool(stack.gateways, 16, (g) => stack.api.issueComposedConfig(g.gatewayId));
  const issuedSeconds = (preciseNow() - r0) / 1000;
  fleet.forEach((c) => c.send({ awaitConfig: { timeoutMs: 120_000 } }));
  const delivered = await Promise.all(fleet.map((c) => c.take<ProvinceDelivered>('delivered', 300_000)));
  const times = delivered.flatMap((d) => Object.values(d.receivedAt));
  row('config rollout: first issue call -> last gateway received', times.length ? (Math.max(...times) - r0) / 1000 : undefined, 's', `${times.length.toLocaleString('en-US')} of ${n} received on their config topic; issue calls (16 at a time) took ${issuedSeconds.toFixed(1)} s`);
}

/** RSS of the brokers (again after a restart), the registry, the workers and the gateway processes. */
class MemoryWatch {
  private readonly samplers = new Map<number, { name: string; sampler: RssSampler }>();

  constructor(
    private readonly stack: ProvinceStack,
    private readonly watched: Watched[],
  ) {
    this.watchBrokers();
    for (const w of watched) this.watch(w);
  }

  /** Starts sampling broker processes not sampled yet (a restarted node has a new pid). */
  watchBrokers(): void {
    for (const b of this.stack.brokers()) this.watch(b);
  }

  stop(): Map<string, RssSummary[]> {
    const by = new Map<string, RssSummary[]>();
    for (const { name, sampler } of this.samplers.values()) by.set(name, [...(by.get(name) ?? []), sampler.stop()]);
    this.samplers.clear();
    return by;
  }

  rows(n: number, procs: number, row: AddRow): void {
    const by = this.stop();
    const maxOf = (name: string) => Math.max(...(by.get(name) ?? []).map((r) => r.max ?? 0)) / MB;
    const names = [...by.keys()];
    const brokers = names.filter((k) => k.startsWith('node') || k === 'mosquitto');
    const brokerMax = brokers.map(maxOf);
    row('memory: broker RSS, max per node', Math.max(...brokerMax), 'MiB', `${brokers.map((b, i) => `${b} ${brokerMax[i]!.toFixed(0)}`).join(', ')} MiB; ${((brokerMax.reduce((a, b) => a + b, 0) * 1024) / n).toFixed(1)} KiB per gateway over all nodes`);
    if (by.has('registry')) row('memory: registry RSS, max', maxOf('registry'), 'MiB');
    const workers = names.filter((k) => k.startsWith('worker')).map(maxOf);
    row('memory: ingest worker RSS, max', Math.max(...workers), 'MiB', `each of ${workers.length}`);
    const fleet = names.filter((k) => k.startsWith('gateways')).reduce((a, k) => a + Math.max(...by.get(k)!.map((r) => r.anonMax ?? 0)), 0);
    row('memory: simulated gateways, anonymous RSS', fleet / MB, 'MiB', `${(fleet / n / 1024).toFixed(1)} KiB per lean-client gateway, ${procs} processes`);
  }

  private watch(w: Watched): void {
    if (this.samplers.has(w.pid)) return;
    const sampler = new RssSampler(w.pid, 1000);
    sampler.start();
    this.samplers.set(w.pid, { name: w.name, sampler });
  }
}

/** Failed attempts of all gateway processes: `1,204 (no CONNACK within 30 s 1,200, ECONNREFUSED 4)`. */
function failuresText(all: Failures[]): string {
  const sum = new Map<string, number>();
  for (const f of all) for (const [k, v] of Object.entries(f)) sum.set(k, (sum.get(k) ?? 0) + v);
  const total = [...sum.values()].reduce((a, v) => a + v, 0);
  return total === 0 ? 'none' : `${total.toLocaleString('en-US')} (${[...sum].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')})`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(0));
