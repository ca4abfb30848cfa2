import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import type { Logger } from 'pino';
import { DynsecClient, findDynsecPlugin, MosquittoDynsec, MosquittoDynsecProcess, MqttConfigPublisher } from '@cityedge/device-registry';
import { findMosquitto } from './children.js';
import { FLEET_FLAG, preciseNow, type FleetConnected, type FleetDelivered } from './fleet-child.js';
import { JsonChild } from './json-child.js';
import { inPool } from './pool.js';
import { CpuMeter, percentile } from './proc-stats.js';
import { createGateways, RATE_LIMIT_NOTE, startBenchRegistry, type BenchRegistry, type Enrolled } from './registry-api.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

export interface ConfigDeliveryOptions {
  logger: Logger;
  benchScript: string;
  ticksPerSecond: number;
  gateways?: number;
  /** Processes the simulated gateways are split over. */
  fleetProcesses?: number;
  /** HTTP calls in flight while provisioning and issuing. */
  concurrency?: number;
}

const PREFIX = 'edge/v1';

/** The pid of the mosquitto started with this config file (MosquittoDynsecProcess keeps its own). */
function mosquittoPid(confPath: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(confPath)) return Number(entry);
    } catch {
      // gone or not ours
    }
  }
  return undefined;
}

export interface MosquittoRegistry {
  mosq: MosquittoDynsecProcess;
  mosqPid: number | undefined;
  admin: DynsecClient;
  bench: BenchRegistry;
  /** The registry's own service account `_registry` (ingest workers log in with it). */
  servicePassword: string;
}

/**
 * A private Mosquitto with dynamic security and the registry in Mosquitto mode, wired as
 * device-registry main.ts does it: admin client, default-deny ACLs, the registry's own service
 * account, the config publisher, and the dynsec provisioner as the registry's broker identity.
 */
export async function startMosquittoRegistry(s: Scope, logger: Logger, extraConfig: string, databaseUrl?: string): Promise<MosquittoRegistry> {
  const mosq = new MosquittoDynsecProcess({ dir: s.tempDir('cityedge-bench-dynsec-'), extraConfig });
  s.defer(() => mosq.stop());
  await mosq.start();
  const admin = new DynsecClient({ connection: mosq.adminConnection(), logger, timeoutMs: 30_000 });
  await admin.start();
  s.defer(() => admin.stop());
  const dynsec = new MosquittoDynsec({ transport: admin, logger, prefix: PREFIX });
  await dynsec.ensureDefaults();
  const servicePassword = randomBytes(24).toString('base64url');
  await dynsec.ensureAccount('_registry', servicePassword, 'service');
  const publisher = new MqttConfigPublisher({ connection: { url: mosq.url, username: '_registry', password: servicePassword, clientId: '_registry-config', protocolVersion: 5 }, logger, prefix: PREFIX, publishTimeoutMs: 60_000 });
  await publisher.start();
  s.defer(() => publisher.stop());
  const bench = await startBenchRegistry(s, { dataDir: s.tempDir('cityedge-bench-registry-'), logger, brokerUrl: mosq.url, publisher, brokerIdentity: dynsec, ...(databaseUrl !== undefined && { databaseUrl }) });
  return { mosq, mosqPid: mosquittoPid(`${mosq.dir}/mosquitto.conf`), admin, bench, servicePassword };
}

/**
 * What of Mosquitto with dynamic security is not installed, or undefined when all is; puts the
 * directories of `mosquitto` and `mosquitto_ctrl` on PATH (MosquittoDynsecProcess runs them from
 * there; Debian puts mosquitto in /usr/sbin).
 */
export function dynsecMissing(): string | undefined {
  const mosquitto = findMosquitto();
  const ctrl = findMosquitto('mosquitto_ctrl');
  const plugin = findDynsecPlugin();
  if (!mosquitto || !ctrl || !plugin) return !mosquitto ? 'mosquitto' : !ctrl ? 'mosquitto_ctrl' : 'the mosquitto dynamic-security plugin';
  for (const dir of new Set([dirname(mosquitto), dirname(ctrl)])) {
    if (!(process.env.PATH ?? '').split(delimiter).includes(dir)) process.env.PATH = `${process.env.PATH ?? ''}${delimiter}${dir}`;
  }
  return undefined;
}

/** Median time of one dynamic-security command round trip (a getRole of a role that does not exist). */
async function dynsecRoundTripMs(admin: DynsecClient, n = 20): Promise<number | undefined> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await admin.run([{ command: 'getRole', rolename: 'bench-none' }]);
    ms.push(performance.now() - t0);
  }
  return percentile(Float64Array.from(ms).sort(), 50);
}

/** Creates and enrolls `n` gateways over the API; the enrollment time and CPU. */
export async function provision(m: MosquittoRegistry, prefix: string, n: number, concurrency: number, ticks: number) {
  const created = await createGateways(m.bench.api, prefix, n, concurrency);
  const mosqCpu = m.mosqPid === undefined ? undefined : new CpuMeter(m.mosqPid, ticks);
  const selfCpu = new CpuMeter(process.pid, ticks);
  mosqCpu?.begin();
  selfCpu.begin();
  const e0 = performance.now();
  const enrolled: Enrolled[] = await inPool(created.codes, concurrency, (code) => m.bench.api.enroll(code));
  const seconds = (performance.now() - e0) / 1000;
  return { created, enrolled, seconds, cpu: `CPU registry ${cpuText(selfCpu.percent())}, mosquitto ${cpuText(mosqCpu?.percent())}` };
}

export const cpuText = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(0)} %`);


/**
 * Over-the-air configuration to a fleet through a real Mosquitto with the dynamic-security
 * plugin, the registry in its Mosquitto mode: the registry provisions each gateway's account and
 * ACLs at enrollment; N simulated gateways (MQTT.js clients in child processes) log in with
 * their own credentials and subscribe to their own config topic; then a composed configuration
 * is issued to every gateway over the API. Measured: provisioning, and the time from the first
 * issue call to the last gateway holding its signed configuration (every signature verified by
 * the receiving gateway).
 *
 * Mosquitto runs as mosquittoDynsecConfig writes it (with `set_tcp_nodelay true`: without it
 * each dynsec answer waited ~40 ms for a delayed ACK, which this benchmark found).
 */
export async function benchConfigDelivery(scope: Scope, o: ConfigDeliveryOptions): Promise<Row[]> {
  const n = o.gateways ?? 1000;
  const procs = o.fleetProcesses ?? 2;
  const concurrency = o.concurrency ?? 16;
  const section = `6. configuration to ${n.toLocaleString('en-US')} gateways through mosquitto (dynamic security), registry on SQLite`;
  const missing = dynsecMissing();
  if (missing) return [{ section, name: `config delivered to ${n} gateways`, value: undefined, unit: '', note: `skipped: ${missing} not installed` }];
  const rows: Row[] = [];

  const s = scope.child();
  try {
    const m = await startMosquittoRegistry(s, o.logger, '');
    const rtt = await dynsecRoundTripMs(m.admin);
    const p = await provision(m, 'gw', n, concurrency, o.ticksPerSecond);
    const tuned = 'mosquitto as shipped (set_tcp_nodelay true)';
    rows.push({ section, name: `dynsec command round trip, ${tuned}`, value: rtt, unit: 'ms' });
    rows.push({ section, name: `provisioning: create ${n.toLocaleString('en-US')} gateways (POST /v1/gateways)`, value: n / p.created.seconds, unit: 'gateways/s', note: `${p.created.seconds.toFixed(1)} s, ${concurrency} at a time` });
    rows.push({ section, name: `provisioning: enroll ${n.toLocaleString('en-US')} gateways, ${tuned}`, value: n / p.seconds, unit: 'enroll/s', note: `${p.seconds.toFixed(1)} s, ${concurrency} at a time; ${p.cpu}; ${RATE_LIMIT_NOTE}` });
    rows.push(...(await deliver(s, o, m, p.enrolled, procs, concurrency, section)));
    return rows;
  } finally {
    await s.close();
  }
}

/** Connects the fleet, issues a composed configuration to every gateway and waits for the last one. */
async function deliver(s: Scope, o: ConfigDeliveryOptions, m: MosquittoRegistry, enrolled: Enrolled[], procs: number, concurrency: number, section: string): Promise<Row[]> {
  const n = enrolled.length;
  const { api, registry } = m.bench;
  const fleet = Array.from({ length: procs }, () => new JsonChild(s, o.benchScript, FLEET_FLAG));
  const c0 = performance.now();
  fleet.forEach((child, p) =>
    child.send({ connect: { url: m.mosq.url, prefix: PREFIX, publicKeyPem: registry.signingKey.publicKeyPem, gateways: enrolled.filter((_, i) => i % procs === p), concurrency: 50 } }),
  );
  const connected = await Promise.all(fleet.map((c) => c.take<FleetConnected>('connected', 120_000)));
  const connectSeconds = (performance.now() - c0) / 1000;
  const online = connected.reduce((a, c) => a + c.count, 0);

  const mosqCpu = m.mosqPid === undefined ? undefined : new CpuMeter(m.mosqPid, o.ticksPerSecond);
  const selfCpu = new CpuMeter(process.pid, o.ticksPerSecond);
  const issuedAt = new Map<string, number>();
  mosqCpu?.begin();
  selfCpu.begin();
  const t0 = preciseNow();
  await inPool(enrolled, concurrency, async (g) => {
    issuedAt.set(g.gatewayId, preciseNow());
    await api.issueComposedConfig(g.gatewayId);
  });
  const issuedSeconds = (preciseNow() - t0) / 1000;
  const registryCpu = selfCpu.percent();
  const delivered = await Promise.all(fleet.map((c) => c.take<FleetDelivered>('delivered', 120_000)));
  const deliverCpu = mosqCpu?.percent();
  const received = delivered.flatMap((d) => Object.entries(d.receivedAt));
  const failures = delivered.flatMap((d) => d.failures);
  if (received.length !== n) throw new Error(`only ${received.length} of ${n} gateways received a configuration`);
  if (failures.length > 0) throw new Error(`signature check failed: ${failures.join('; ')}`);
  const last = Math.max(...received.map(([, t]) => t));
  const seconds = (last - t0) / 1000;
  const latencies = Float64Array.from(received.map(([gw, t]) => t - (issuedAt.get(gw) ?? t0))).sort();
  const verified = delivered.reduce((a, d) => a + d.verified, 0);
  return [
    { section, name: `${online.toLocaleString('en-US')} gateways connected and subscribed (own credentials)`, value: connectSeconds, unit: 's', note: `${procs} processes, 50 connects at a time each` },
    {
      section,
      name: 'config delivered: first issue call -> last gateway received',
      value: seconds,
      unit: 's',
      note: `${(n / seconds).toFixed(0)} gateways/s; issue calls (POST /v1/gateways/:id/configs, ${concurrency} at a time) done in ${issuedSeconds.toFixed(2)} s; CPU registry ${cpuText(registryCpu)}, mosquitto ${cpuText(deliverCpu)}`,
    },
    { section, name: 'per gateway: issue call -> received, p50', value: percentile(latencies, 50), unit: 'ms', note: `p99 ${percentile(latencies, 99)?.toFixed(1) ?? 'n/a'} ms, max ${latencies[latencies.length - 1]?.toFixed(1) ?? 'n/a'} ms` },
    { section, name: 'signed configs verified by the gateways', value: verified, unit: `of ${n}`, note: 'contract verifySignedConfig with the key from enrollment' },
  ];
}
