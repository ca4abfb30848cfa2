import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { GatewayConfigInput } from '@cityedge/contract';
import { startSimulation } from '@cityedge/simulators';
import { AGENT_BUILD } from '../global-setup.js';
import { TelemetryConsumer } from './consumer.js';
import { quiet, tempDir, waitUntil } from './fixtures.js';

export interface CrashRunResult {
  cycles: number;
  /** Readings and events found committed in the outbox right after a SIGKILL. */
  committed: Set<string>;
  /** Keys of committed readings the consumer never received. */
  missing: string[];
  /** Readings received more than once after dropping duplicate (gw, seq) messages. */
  twice: number;
  gaps: number[];
  integrity: string[];
  received: number;
}

const key = (r: { dev: string; pt: string; ts: number }) => `${r.dev}|${r.pt}|${r.ts}`;

/** A small seeded generator, so a failing run can be repeated. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Runs the agent and kills it killAfterMs after it said it started (or after the spawn, to kill
 * it while it starts): counting from its start keeps the kill points meaningful on a loaded
 * machine, where starting alone can take seconds.
 */
async function runAgent(args: string[], killAfterMs: number, from: 'spawn' | 'started'): Promise<void> {
  const proc = spawn(process.execPath, [AGENT_BUILD, ...args, '--log-level', 'info', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  if (from === 'started') {
    await new Promise<void>((resolve) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        if (!out.includes('"msg":"agent started"')) return;
        proc.stdout.off('data', onData);
        resolve();
      };
      proc.stdout.on('data', onData);
      void exited.then(() => resolve());
    });
  }
  proc.stdout.resume();
  await new Promise((r) => setTimeout(r, killAfterMs));
  if (proc.exitCode !== null) throw new Error(`the agent exited by itself with ${proc.exitCode}: ${stderr}`);
  proc.kill('SIGKILL');
  await exited;
}

/**
 * Runs the agent as a real process against simulated devices under load and kills it with
 * SIGKILL at random points, `cycles` times. After every kill the outbox file is checked
 * (integrity) and its rows recorded as committed. A last run drains the outbox; the consumer
 * must then hold every committed reading exactly once after (gw, seq) dedup.
 */
export async function crashCycles(opts: {
  brokerUrl: string;
  cycles: number;
  seed: number;
  minMs: number;
  maxMs: number;
  /** Every nth run is killed while it starts (counted from the spawn); default 4. */
  startupKillEvery?: number;
  /** Called before each run, e.g. to take the broker away so a backlog builds up. */
  beforeRun?: (cycle: number, consumer: TelemetryConsumer) => Promise<void>;
}): Promise<CrashRunResult> {
  const rand = lcg(opts.seed);
  const dir = tempDir('cityedge-crash-');
  const consumer = new TelemetryConsumer(opts.brokerUrl);
  await consumer.start();
  const sim = await startSimulation(
    { endpoints: [{ id: 'bus', transport: 'tcp', devices: Array.from({ length: 10 }, (_, i) => ({ id: `aq-${i}`, model: 'vaisala-aqt530' as const, unitId: i + 1 })) }] },
    { logger: quiet },
  );
  const config: GatewayConfigInput = {
    gateway: { id: 'gw-crash' },
    lines: [
      {
        id: 'bus',
        type: 'tcp',
        host: '127.0.0.1',
        port: sim.endpoint('bus').port!,
        // 10 devices x 10 points every 100 ms: 1,000 readings/s.
        devices: Array.from({ length: 10 }, (_, i) => ({ id: `aq-${i}`, profile: 'vaisala-aqt530', unitId: i + 1, pollIntervalMs: 100 })),
      },
    ],
    forwarding: { brokerUrl: opts.brokerUrl, maxBatchReadings: 100, reconnectMinMs: 100, reconnectMaxMs: 1000 },
    buffer: { path: 'outbox.db' },
    http: { enabled: false },
  };
  const cfgPath = join(dir, 'agent.json');
  writeFileSync(cfgPath, JSON.stringify(config));
  const args = ['run', '--config', cfgPath, '--state-dir', join(dir, 'state')];
  const committed = new Set<string>();
  const integrity: string[] = [];
  try {
    for (let i = 0; i < opts.cycles; i++) {
      await opts.beforeRun?.(i, consumer);
      // some runs are killed while they start; the others at a random point of their work
      const every = opts.startupKillEvery ?? 4;
      await runAgent(args, Math.round(opts.minMs + rand() * (opts.maxMs - opts.minMs)), i % every === every - 1 ? 'spawn' : 'started');
      const file = join(dir, 'state', 'outbox.db');
      if (!existsSync(file)) continue; // killed before it opened its outbox
      const db = new Database(file, { fileMustExist: true });
      try {
        integrity.push(String(db.pragma('integrity_check', { simple: true })));
        const created = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'telemetry'").get();
        if (created) for (const { body } of db.prepare('SELECT body FROM telemetry').all() as Array<{ body: string }>) committed.add(key(JSON.parse(body) as never));
      } finally {
        db.close();
      }
    }
    await opts.beforeRun?.(opts.cycles, consumer);
    // The last run drains everything, then stops cleanly.
    const drained = spawn(process.execPath, [AGENT_BUILD, ...args], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => drained.once('exit', () => r()));
    const received = () => new Set(consumer.readings.map(key));
    await waitUntil(() => {
      const got = received();
      for (const k of committed) if (!got.has(k)) return false;
      return true;
    }, 60_000, 'every committed reading to arrive').catch(() => undefined);
    drained.kill('SIGTERM');
    await exited;
    const got = received();
    const keys = consumer.readings.map(key);
    return {
      cycles: opts.cycles,
      committed,
      missing: [...committed].filter((k) => !got.has(k)),
      twice: keys.length - new Set(keys).size,
      gaps: consumer.gaps('gw-crash'),
      integrity,
      received: keys.length,
    };
  } finally {
    await sim.stop();
    await consumer.stop();
  }
}
