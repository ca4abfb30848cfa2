import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startStations, writeStationsConfig } from './aqt-stations.js';
import { freePort, spawnAgent, type BrokerHandle } from './children.js';
import { CpuMeter, RssSampler } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

export const IDLE_CPU_TARGET_PERCENT = 0.1;

export interface IdleOptions {
  logger: Logger;
  broker: BrokerHandle;
  ticksPerSecond: number;
  /** The agents to measure, e.g. this build and a baseline build, each with a label. */
  agents: ReadonlyArray<{ label: string; script: string }>;
  agentNodeArgs?: readonly string[];
  pollIntervalMs?: number;
  warmupMs?: number;
  windowMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Voluntary + involuntary context switches of every thread of a process: how often it woke up. */
export function contextSwitches(pid: number): number | undefined {
  try {
    let n = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      n += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
    return n;
  } catch {
    return undefined;
  }
}


/**
 * An agent with one device (an AQT530, 10 points) polled every `pollIntervalMs`: its CPU and
 * how often its threads wake up, i.e. what an almost idle gateway costs. Each agent in `agents`
 * runs in turn against the same simulator and broker.
 */
export async function benchIdle(scope: Scope, opts: IdleOptions): Promise<Row[]> {
  const interval = opts.pollIntervalMs ?? 1000;
  const section = `12. nearly idle agent: one AQT530 (10 points) every ${interval} ms, ${opts.broker.kind} broker process`;
  const rows: Row[] = [];
  const s = scope.child();
  try {
    const sim = await startStations(s, { endpoints: 1, perEndpoint: 1, logger: opts.logger });
    for (const a of opts.agents) {
      const run = s.child();
      try {
        const dir = run.tempDir('cityedge-bench-idle-');
        const configPath = writeStationsConfig(dir, sim, { pollIntervalMs: interval, httpPort: await freePort(), forwarding: { brokerUrl: opts.broker.url } });
        const agent = spawnAgent(run, a.script, configPath, join(dir, 'state'), opts.agentNodeArgs);
        await sleep(opts.warmupMs ?? 5000);
        if (agent.proc.exitCode !== null) throw new Error(`the agent exited: ${agent.output()}`);
        const cpu = new CpuMeter(agent.pid, opts.ticksPerSecond);
        const rss = new RssSampler(agent.pid, 1000);
        const switches0 = contextSwitches(agent.pid);
        const t0 = performance.now();
        cpu.begin();
        rss.start();
        await sleep(opts.windowMs ?? 30_000);
        const percent = cpu.percent();
        const mem = rss.stop();
        const switches1 = contextSwitches(agent.pid);
        const seconds = (performance.now() - t0) / 1000;
        const label = a.label ? ` (${a.label})` : '';
        rows.push(
          { section, name: `agent CPU${label}`, value: percent, unit: '% of a core', ...(a.label !== 'baseline' && { target: { op: '<=' as const, value: IDLE_CPU_TARGET_PERCENT } }), note: `over ${seconds.toFixed(0)} s` },
          { section, name: `agent wake-ups${label}`, value: switches0 === undefined || switches1 === undefined ? undefined : (switches1 - switches0) / seconds, unit: '/s', note: 'context switches of all its threads' },
          { section, name: `agent RSS max${label}`, value: mem.max === undefined ? undefined : mem.max / 2 ** 20, unit: 'MB' },
        );
      } finally {
        await run.close();
      }
    }
    return rows;
  } finally {
    await s.close();
  }
}
