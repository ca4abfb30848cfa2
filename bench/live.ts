import { spawn } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startStations, writeStationsConfig } from './aqt-stations.js';
import { freePort, spawnAgent, type AgentProcess, type BrokerHandle } from './children.js';
import { LatencySubscriber, type LatencySummary } from './latency-subscriber.js';
import { maxOf, scrape, sumOf, type Samples } from './metrics-scrape.js';
import { CpuMeter, RssSampler, type RssSummary } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

export const P99_TARGET_MS = 50;
export const RSS_TARGET_MB = 70;
export const CPU_PER_10K_TARGET_S = 0.45;

export interface LiveOptions {
  logger: Logger;
  broker: BrokerHandle;
  agentScript: string;
  ticksPerSecond: number;
  endpoints?: number;
  devicesPerEndpoint?: number;
  pollIntervalMs?: number;
  warmupMs?: number;
  windowMs?: number;
  /** Extra node arguments for the agent process (BENCH_AGENT_NODE_ARGS), e.g. --cpu-prof. */
  agentNodeArgs?: readonly string[];
  /** Which build this is when another one is measured beside it (--baseline-agent). */
  label?: string;
  /** Busy-looping processes (nice 0) that keep the cores busy during the run. */
  hogs?: number;
  /** The unit's Nice=, applied with renice to the agent and to the stand-ins for other machines (simulators, broker, consumer). */
  nice?: number;
}

/** Sets a process's nice value; undefined when allowed, else why not (a negative one needs root). */
function renice(pid: number, nice: number): string | undefined {
  try {
    setPriority(pid, nice);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Processes that spin until the scope closes. */
function startHogs(scope: Scope, n: number): void {
  for (let i = 0; i < n; i++) scope.process(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }), 'SIGKILL', 1000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function assertAlive(agent: AgentProcess, what: string): void {
  if (agent.proc.exitCode !== null || agent.proc.signalCode !== null) {
    throw new Error(`the agent exited (${agent.proc.exitCode ?? agent.proc.signalCode}) during ${what}:\n${agent.output()}`);
  }
}

async function waitFor(what: string, timeoutMs: number, agent: AgentProcess, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    assertAlive(agent, `the wait for ${what}`);
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${agent.output()}`);
    await sleep(50);
  }
}

/** Lets `ms` pass, checking that the agent is still running. */
export async function hold(ms: number, agent: AgentProcess, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) {
    assertAlive(agent, what);
    await sleep(Math.min(250, left));
  }
  assertAlive(agent, what);
}

/**
 * The real agent as a child process (built bundle), polling simulated AQT530 stations over
 * Modbus TCP (simulators in this process), forwarding to a broker in a third process; a consumer
 * here measures end-to-end latency while /proc gives the agent's RSS and CPU.
 */
export async function benchLive(scope: Scope, opts: LiveOptions): Promise<Row[]> {
  const endpoints = opts.endpoints ?? 5;
  const perEndpoint = opts.devicesPerEndpoint ?? 10;
  const interval = opts.pollIntervalMs ?? 1000;
  const points = 10; // an AQT530 has 10 points
  const offered = (endpoints * perEndpoint * points * 1000) / interval;
  const section = `3. live agent process: ${endpoints * perEndpoint} AQT530 x ${points} points every ${interval} ms over ${endpoints} Modbus TCP lines (${offered} points/s), ${opts.broker.kind} broker process${opts.hogs ? `, ${opts.hogs} busy-looping processes at nice 0, agent at nice ${opts.nice ?? 0} (the unit's Nice=)` : ''}${opts.label ? ` [${opts.label}]` : ''}`;
  const s = scope.child();
  try {
    const sim = await startStations(s, { endpoints, perEndpoint, logger: opts.logger });
    const consumer = new LatencySubscriber();
    await consumer.start(opts.broker.url);
    s.defer(() => consumer.stop());

    const dir = s.tempDir('cityedge-bench-live-');
    const httpPort = await freePort();
    const configPath = writeStationsConfig(dir, sim, { pollIntervalMs: interval, httpPort, forwarding: { brokerUrl: opts.broker.url } });
    const spawnedAt = performance.now();
    const agent = spawnAgent(s, opts.agentScript, configPath, join(dir, 'state'), opts.agentNodeArgs);
    const metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
    if (opts.nice !== undefined) {
      // The simulators, the broker and the consumer stand for devices and central, which do not share the gateway's cores.
      const ownNice = getPriority(process.pid);
      s.defer(() => void renice(process.pid, ownNice));
      const refused = [agent.pid, opts.broker.pid, process.pid].map((pid) => renice(pid, opts.nice as number)).find(Boolean);
      if (refused) throw new Error(`cannot apply the unit's Nice=${opts.nice} (run the benchmark as root): ${refused}`);
    }
    if (opts.hogs) startHogs(s, opts.hogs);

    await waitFor('the first telemetry', 20_000, agent, () => consumer.total > 0);
    const firstTelemetryMs = performance.now() - spawnedAt;
    await hold(opts.warmupMs ?? 5000, agent, 'the warm-up');
    const before = await scrape(metricsUrl);

    const rss = new RssSampler(agent.pid, 250);
    const cpu = new CpuMeter(agent.pid, opts.ticksPerSecond);
    const brokerCpu = new CpuMeter(opts.broker.pid, opts.ticksPerSecond);
    const selfCpu = new CpuMeter(process.pid, opts.ticksPerSecond);
    rss.start();
    cpu.begin();
    brokerCpu.begin();
    selfCpu.begin();
    consumer.begin();
    await hold(opts.windowMs ?? 30_000, agent, 'the measurement window');
    const lat = consumer.end();
    const mem = rss.stop();
    const agentCpu = cpu.percent();
    const agentSystemShare = cpu.systemShare();
    const after = await scrape(metricsUrl);
    const rows = liveRows(section, {
      offered,
      firstTelemetryMs,
      lat,
      mem,
      agentCpu,
      agentSystemShare,
      brokerCpu: brokerCpu.percent(),
      selfCpu: selfCpu.percent(),
      before,
      after,
      brokerKind: opts.broker.kind,
    });
    return opts.label ? rows.map((r) => ({ ...r, section: r.section.startsWith('4.') ? `${r.section} [${opts.label}]` : r.section })) : rows;
  } finally {
    await s.close();
  }
}

interface LiveMeasurements {
  offered: number;
  firstTelemetryMs: number;
  lat: LatencySummary;
  mem: RssSummary;
  agentCpu: number | undefined;
  agentSystemShare: number | undefined;
  brokerCpu: number | undefined;
  selfCpu: number | undefined;
  /** /metrics at the start and the end of the window. */
  before: Samples | undefined;
  after: Samples | undefined;
  brokerKind: string;
}

function liveRows(section: string, m: LiveMeasurements): Row[] {
  const { lat, mem, before, after } = m;
  const mb = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);
  const slipBefore = maxOf(before, 'cityedge_poll_slip_max_seconds');
  const slipAfter = maxOf(after, 'cityedge_poll_slip_max_seconds');
  const failedPolls = (sumOf(after, 'cityedge_polls_total', 'result="failed"') ?? 0) - (sumOf(before, 'cityedge_polls_total', 'result="failed"') ?? 0);
  const polls = (sumOf(after, 'cityedge_polls_total') ?? 0) - (sumOf(before, 'cityedge_polls_total') ?? 0);
  const pollSeconds = (sumOf(after, 'cityedge_poll_seconds_total') ?? 0) - (sumOf(before, 'cityedge_poll_seconds_total') ?? 0);
  const reconnects = (sumOf(after, 'cityedge_mqtt_reconnects_total') ?? 0) - (sumOf(before, 'cityedge_mqtt_reconnects_total') ?? 0);
  const slipNote = slipBefore === undefined ? 'metrics not reachable' : slipAfter === slipBefore ? 'max since start; reached before the window' : 'max since start; grew during the window';
  return [
    {
      section,
      name: 'readings received',
      value: lat.readings / lat.seconds,
      unit: 'readings/s',
      note: `offered ${m.offered}/s; ${lat.readings.toLocaleString('en-US')} readings in ${lat.messages} messages over ${lat.seconds.toFixed(1)} s, ${lat.bad} bad`,
    },
    { section, name: 'latency p50 (received - reading.ts)', value: lat.p50, unit: 'ms', note: 'includes the 20 ms group-commit linger (buffer.commitIntervalMs)' },
    { section, name: 'latency p90', value: lat.p90, unit: 'ms' },
    { section, name: 'latency p99', value: lat.p99, unit: 'ms', target: { op: '<=', value: P99_TARGET_MS } },
    { section, name: 'latency max', value: lat.max, unit: 'ms', note: `mean ${lat.mean?.toFixed(1) ?? 'n/a'} ms` },
    { section, name: 'agent RSS max', value: mb(mem.max), unit: 'MB', target: { op: '<=', value: RSS_TARGET_MB }, note: `${mem.samples} samples of VmRSS` },
    { section, name: 'agent RSS mean', value: mb(mem.mean), unit: 'MB' },
    { section, name: 'agent RssAnon max (heap, malloc)', value: mb(mem.anonMax), unit: 'MB', note: `RssFile max ${mb(mem.fileMax)?.toFixed(1) ?? 'n/a'} MB (node binary, native modules)` },
    { section, name: 'agent CPU (utime+stime)', value: m.agentCpu, unit: '% of a core', note: `${m.agentSystemShare === undefined ? '?' : Math.round(m.agentSystemShare * 100)} % of it in the kernel` },
    {
      section,
      name: 'agent CPU per 10,000 readings',
      value: m.agentCpu === undefined || lat.readings === 0 ? undefined : ((m.agentCpu / 100) * lat.seconds * 10_000) / lat.readings,
      unit: 'CPU-s',
      target: { op: '<=', value: CPU_PER_10K_TARGET_S },
      note: 'issue 8: half of the 0.9 measured before',
    },
    { section, name: `${m.brokerKind} broker CPU`, value: m.brokerCpu, unit: '% of a core' },
    { section, name: 'bench process CPU (simulators + consumer)', value: m.selfCpu, unit: '% of a core' },
    { section, name: 'agent start to first telemetry received', value: m.firstTelemetryMs, unit: 'ms', note: 'spawn, config check, outbox integrity check, connect, first polls' },
    { section: '4. agent metrics during the live run', name: 'poll slip max (cityedge_poll_slip_max_seconds)', value: slipAfter === undefined ? undefined : slipAfter * 1000, unit: 'ms', note: slipNote },
    { section: '4. agent metrics during the live run', name: 'poll duration mean', value: polls > 0 ? (pollSeconds / polls) * 1000 : undefined, unit: 'ms', note: `${polls} polls in the window, ${failedPolls} failed` },
    { section: '4. agent metrics during the live run', name: 'broker reconnects in the window', value: reconnects, unit: '' },
    { section: '4. agent metrics during the live run', name: 'outbox backlog at the end', value: maxOf(after, 'cityedge_outbox_backlog_rows'), unit: 'rows' },
  ];
}
