import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { freePort, RabbitCluster } from '@cityedge/test-support';
import { cpuText, provision, startMosquittoRegistry } from './config-delivery.js';
import { inPool } from './pool.js';
import type { ProvinceGateway } from './province-child.js';
import { CpuMeter } from './proc-stats.js';
import { createGateways, RegistryApi } from './registry-api.js';
import type { Scope } from './scope.js';

/** A process of the province whose CPU and memory are reported. */
export interface Watched {
  name: string;
  pid: number;
}

/** What the province load runs against: brokers, the registry, its ingest workers' broker login. */
export interface ProvinceStack {
  /** For the section title. */
  label: string;
  gateways: ProvinceGateway[];
  /** The broker's MQTT URLs, node by node. */
  brokerUrls: string[];
  /** Enrollment over the API: seconds for all, and the CPU it cost. */
  enrollSeconds: number;
  enrollCpu: string;
  api: RegistryApi;
  /** `cityedge-registry ingest` flags for this broker, and the password they log in with. */
  workerArgs: string[];
  workerPassword: string;
  /** The registry's own process (undefined: it runs inside the bench). */
  registry: Watched | undefined;
  /** Broker processes, looked up again after a restart. */
  brokers(): Watched[];
  /** Gateways keep persistent MQTT sessions, as the registry composes their configurations for this broker. */
  persistentSessions: boolean;
  /** A broker node killed -9 and started again, when the stack has more than one. */
  chaos?: { label: string; kill(): Promise<void>; restart(): Promise<void> };
}

export interface StackOptions {
  logger: Logger;
  ticksPerSecond: number;
  gateways: number;
  databaseUrl: string;
  /** The built `cityedge-registry.js` beside the bench. */
  registryScript: string;
  prefix: string;
  /** Clean MQTT sessions even where the registry composes persistent ones (a comparison). */
  cleanSessions?: boolean;
}

/** Mosquitto with dynamic security, the registry in the bench process (Mosquitto mode). */
export async function mosquittoStack(s: Scope, o: StackOptions): Promise<ProvinceStack> {
  const m = await startMosquittoRegistry(s, o.logger, 'max_queued_messages 1000000\nmax_inflight_messages 100\n', o.databaseUrl);
  const p = await provision(m, 'pv', o.gateways, 16, o.ticksPerSecond);
  return {
    label: 'mosquitto (dynamic security)',
    gateways: p.enrolled.map((g) => ({ ...g, urls: [m.mosq.url] })),
    brokerUrls: [m.mosq.url],
    enrollSeconds: p.seconds,
    enrollCpu: p.cpu,
    api: m.bench.api,
    workerArgs: ['--broker-url', m.mosq.url],
    workerPassword: m.servicePassword,
    registry: undefined,
    persistentSessions: false,
    brokers: () => (m.mosqPid === undefined ? [] : [{ name: 'mosquitto', pid: m.mosqPid }]),
  };
}

/** The node killed mid-run: not node 1, where the registry publishes configurations. */
const VICTIM = 1;

/**
 * The province layout on this machine: a 3-node RabbitMQ cluster (RabbitCluster) whose HTTP auth
 * backend is the registry, the registry as its own process (`cityedge-registry --broker rabbitmq`
 * on PostgreSQL, `--trust-proxy` so that each gateway's enrollment counts against its own address
 * as behind the province's reverse proxy), gateways spread over the nodes' MQTT ports.
 */
export async function rabbitStack(s: Scope, o: StackOptions): Promise<ProvinceStack> {
  const cluster = await new RabbitCluster().allocate();
  const [authPort, httpPort] = [await freePort(), await freePort()];
  cluster.auth = { kind: 'http', baseUrl: `http://127.0.0.1:${authPort}/broker/rabbitmq` };
  // The nodes run detached (own process groups): killed here too if the bench dies without its scope.
  const killNodes = () => cluster.nodes.forEach((n) => n.proc?.pid && tryKill(-n.proc.pid));
  process.on('exit', killNodes);
  s.defer(() => {
    process.off('exit', killNodes);
    return cluster.stop();
  });
  await cluster.start();

  const dataDir = s.tempDir('cityedge-bench-province-registry-');
  const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
  const args = [o.registryScript, '--data-dir', dataDir, '--database-url', o.databaseUrl, '--port', String(httpPort), '--broker', 'rabbitmq', '--broker-url', cluster.mqttUrls.join(','), '--rabbitmq-auth-port', String(authPort), '--trust-proxy', '--log-format', 'json', '--log-level', 'warn'];
  const proc = spawn(process.execPath, args, { env: { ...process.env, REGISTRY_ADMIN_TOKEN: adminToken }, stdio: ['ignore', 'pipe', 'pipe'] });
  s.process(proc, 'SIGTERM', 10_000);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  proc.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${httpPort}`;
  await untilHealthy(url, proc, () => out);
  const api = new RegistryApi(url, adminToken);

  const created = await createGateways(api, o.prefix, o.gateways, 16);
  const cpu = new CpuMeter(proc.pid!, o.ticksPerSecond);
  cpu.begin();
  const e0 = performance.now();
  const enrolled = await inPool(created.codes, 16, (code, i) => api.enroll(code, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  const enrollSeconds = (performance.now() - e0) / 1000;
  const urls = cluster.mqttUrls;
  return {
    label: `RabbitMQ ${cluster.nodes.length}-node cluster (registry as HTTP auth backend)`,
    // Gateway i starts on node i mod 3 and fails over through the others in order.
    gateways: enrolled.map((g, i) => ({ ...g, urls: urls.map((_, k) => urls[(i + k) % urls.length]!) })),
    brokerUrls: urls,
    enrollSeconds,
    enrollCpu: `CPU registry ${cpuText(cpu.percent())}`,
    api,
    workerArgs: ['--source', 'amqp', '--broker-url', cluster.nodes.map((n) => `amqp://127.0.0.1:${n.amqpPort}`).join(','), '--username', '_registry'],
    workerPassword: readFileSync(join(dataDir, 'mqtt-service.secret'), 'utf8').trim(),
    registry: { name: 'registry', pid: proc.pid! },
    // forwarding.cleanSession false in composed configurations (config-composer.ts), unless asked otherwise.
    persistentSessions: !o.cleanSessions,
    brokers: () => cluster.nodes.flatMap((n) => {
      const pid = cluster.pid(n.index);
      return pid === undefined ? [] : [{ name: `node ${n.index + 1}`, pid }];
    }),
    chaos: { label: `node ${VICTIM + 1}`, kill: () => cluster.kill(VICTIM), restart: () => cluster.startNode(VICTIM) },
  };
}

async function untilHealthy(url: string, proc: ReturnType<typeof spawn>, output: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`the registry exited (${proc.exitCode}): ${output()}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the registry did not answer ${url}/healthz within 60 s: ${output()}`);
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
