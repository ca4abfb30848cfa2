import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startStations, writeStationsConfig } from './aqt-stations.js';
import { freePort, spawnAgent, startAedesChild, type AgentProcess } from './children.js';
import { maxOf, scrape, sumOf } from './metrics-scrape.js';
import { RSS_TARGET_MB } from './live.js';
import { RssSampler, type RssSummary } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

export interface OutageOptions {
  logger: Logger;
  benchScript: string;
  agentScript: string;
  agentNodeArgs?: readonly string[];
  /** Readings per second offered (AQT530 stations of 10 points polled every 100 ms). */
  rate?: number;
  steadyMs?: number;
  outageMs?: number;
  /** How long the agent keeps running after the backlog has drained. */
  afterMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);

function fileBytes(path: string): { db: number; wal: number } {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  return { db: size(path), wal: size(`${path}-wal`) };
}

async function during(ms: number, agent: AgentProcess, what: string): Promise<RssSummary> {
  const rss = new RssSampler(agent.pid, 250);
  rss.start();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (agent.proc.exitCode !== null || agent.proc.signalCode !== null) throw new Error(`the agent exited during ${what}:\n${agent.output()}`);
    await sleep(Math.min(250, end - Date.now()));
  }
  return rss.stop();
}

/**
 * Issue 8's soak in small: the real agent at a high rate, the broker gone for a while, then back.
 * RSS before, during the outage, while draining and after, and the outbox file's size: what a
 * gateway keeps (memory, disk) after an outage is over.
 */
export async function benchOutageDrain(scope: Scope, opts: OutageOptions): Promise<Row[]> {
  const rate = opts.rate ?? 5000;
  const stations = Math.round(rate / 100);
  const endpoints = 5;
  const outageMs = opts.outageMs ?? 60_000;
  const section = `9. broker outage at ${rate.toLocaleString('en-US')} readings/s (${stations} AQT530 polled every 100 ms): ${outageMs / 1000} s outage, then drain`;
  const s = scope.child();
  try {
    const sim = await startStations(s, { endpoints, perEndpoint: stations / endpoints, logger: opts.logger });
    let brokerScope = s.child();
    const broker = await startAedesChild(brokerScope, opts.benchScript);
    const dir = s.tempDir('cityedge-bench-outage-');
    const httpPort = await freePort();
    const configPath = writeStationsConfig(dir, sim, { pollIntervalMs: 100, httpPort, forwarding: { brokerUrl: broker.url, reconnectMinMs: 500, reconnectMaxMs: 2000 } });
    const outboxPath = join(dir, 'state', 'outbox.db');
    const agent = spawnAgent(s, opts.agentScript, configPath, join(dir, 'state'), opts.agentNodeArgs);
    const metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
    const metric = async (name: string) => maxOf(await scrape(metricsUrl), name);

    await sleep(5000);
    const steady = await during(opts.steadyMs ?? 20_000, agent, 'the steady run');
    const steadyMetrics = await scrape(metricsUrl);
    const readingsBefore = sumOf(steadyMetrics, 'cityedge_outbox_appended_total', 'telemetry') ?? 0;

    await brokerScope.close();
    const outage = await during(outageMs, agent, 'the outage');
    const backlogAtEnd = await metric('cityedge_outbox_backlog_rows');
    const filesAtOutageEnd = fileBytes(outboxPath);

    brokerScope = s.child();
    await startAedesChild(brokerScope, opts.benchScript, broker.port);
    const drainStart = performance.now();
    const drainRss = new RssSampler(agent.pid, 250);
    drainRss.start();
    // Drained: the backlog is back to what the live flow keeps in flight (under a second of data).
    for (;;) {
      const backlog = await metric('cityedge_outbox_backlog_rows');
      if (backlog !== undefined && backlog < rate) break;
      if (performance.now() - drainStart > 300_000) throw new Error(`the backlog did not drain in 300 s (${backlog} rows left)`);
      await sleep(200);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const drain = drainRss.stop();
    const filesAfterDrain = fileBytes(outboxPath);
    const after = await during(opts.afterMs ?? 30_000, agent, 'the run after the drain');
    const endMetrics = await scrape(metricsUrl);
    const filesAtEnd = fileBytes(outboxPath);
    const dropped = sumOf(endMetrics, 'cityedge_outbox_dropped_total') ?? 0;
    const heapNote = (m: typeof endMetrics) => {
      const heap = maxOf(m, 'cityedge_nodejs_heap_size_total_bytes');
      const ext = maxOf(m, 'cityedge_nodejs_external_memory_bytes');
      return `JS heap ${mb(heap)?.toFixed(1) ?? '?'} MB, external ${mb(ext)?.toFixed(1) ?? '?'} MB`;
    };
    const files = (f: { db: number; wal: number }) => `file ${mb(f.db)?.toFixed(1)} MB + WAL ${mb(f.wal)?.toFixed(1)} MB`;
    return [
      { section, name: 'agent RSS before the outage, mean / max', value: mb(steady.mean), unit: 'MB', note: `max ${mb(steady.max)?.toFixed(1)} MB; RssAnon max ${mb(steady.anonMax)?.toFixed(1)} MB; ${heapNote(steadyMetrics)}; ${readingsBefore.toLocaleString('en-US')} readings so far` },
      { section, name: 'agent RSS during the outage, max', value: mb(outage.max), unit: 'MB', note: `backlog ${backlogAtEnd?.toLocaleString('en-US') ?? '?'} rows at its end; ${files(filesAtOutageEnd)}` },
      { section, name: 'agent RSS while draining, max', value: mb(drain.max), unit: 'MB', note: `drained in ${drainSeconds.toFixed(1)} s` },
      { section, name: 'agent RSS after the drain, mean / max', value: mb(after.mean), unit: 'MB', target: { op: '<=', value: RSS_TARGET_MB }, note: `max ${mb(after.max)?.toFixed(1)} MB over ${((opts.afterMs ?? 30_000) / 1000).toFixed(0)} s; RssAnon max ${mb(after.anonMax)?.toFixed(1)} MB; ${heapNote(endMetrics)}` },
      { section, name: 'outbox file + WAL right after the drain', value: mb(filesAfterDrain.db + filesAfterDrain.wal), unit: 'MB', note: files(filesAfterDrain) },
      { section, name: 'outbox file + WAL at the end', value: mb(filesAtEnd.db + filesAtEnd.wal), unit: 'MB', note: `${files(filesAtEnd)}; ${dropped} rows dropped` },
    ];
  } finally {
    await s.close();
  }
}
