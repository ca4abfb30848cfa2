import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, appendFileSync, constants, existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { BROKER_FLAG } from './broker-child.js';
import type { Scope } from './scope.js';
import { agentEnvironment } from './unit.js';

export interface BrokerHandle {
  kind: 'aedes' | 'mosquitto';
  url: string;
  port: number;
  pid: number;
}

/** The built benchmark (dist/bench.js) and the agent built beside it. */
export function buildPaths(): { bench: string; agent: string } {
  const bench = process.argv[1] ?? '';
  const agent = join(dirname(bench), 'cityedge-agent.js');
  if (!existsSync(agent)) throw new Error(`${agent} is missing: run the benchmark with "npm run bench", which builds first`);
  return { bench, agent };
}

import { freePort } from '@cityedge/test-support';

export { freePort };

/** Keeps the last `max` characters a child wrote, for error messages. */
function tail(proc: ChildProcess, max = 8000): () => string {
  let out = '';
  const add = (d: Buffer) => {
    out = (out + d.toString()).slice(-max);
  };
  proc.stdout?.on('data', add);
  proc.stderr?.on('data', add);
  return () => out;
}

/** Starts an aedes broker in a child process (this same bundle with --aedes-broker), on `port` (0: any free one). */
export async function startAedesChild(scope: Scope, benchScript: string, port = 0, startTimeoutMs = 60_000): Promise<BrokerHandle> {
  const proc = spawn(process.execPath, [benchScript, BROKER_FLAG, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  scope.process(proc, 'SIGTERM', 2000);
  // Runs first on close: closing stdin asks the broker to exit (then SIGTERM, then SIGKILL).
  scope.defer(() => {
    proc.stdin?.end();
  });
  const output = tail(proc);
  const bound = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`the aedes broker child did not start within ${startTimeoutMs / 1000} s: ${output()}`)), startTimeoutMs);
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"listening":(\d+)\}/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the aedes broker child exited with ${code}: ${output()}`));
    });
  });
  return { kind: 'aedes', url: `mqtt://127.0.0.1:${bound}`, port: bound, pid: proc.pid as number };
}

/** The mosquitto binary (or another of its tools), when installed (it often lives in /usr/sbin, outside a user's PATH). */
export function findMosquitto(name = 'mosquitto'): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A private Mosquitto on a free loopback port (never 1883), with its own configuration. */
export async function startMosquitto(scope: Scope, binary: string): Promise<BrokerHandle> {
  const dir = scope.tempDir('cityedge-bench-mosq-');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\nmax_inflight_messages 0\n`);
  const proc = spawn(binary, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  scope.process(proc, 'SIGTERM', 2000);
  const output = tail(proc);
  const exited = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot run ${binary}: ${err.message}`)));
    proc.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${output()}`)));
  });
  await Promise.race([exited, waitListening(port, 5000)]);
  return { kind: 'mosquitto', url: `mqtt://127.0.0.1:${port}`, port, pid: proc.pid as number };
}

async function waitListening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export interface AgentProcess {
  pid: number;
  proc: ChildProcess;
  output: () => string;
}

/**
 * Runs the built agent (`cityedge-agent run`) as a child process, stopped with SIGTERM on close.
 * `nodeArgs` go to node before the script (e.g. --cpu-prof, --heap-prof for an investigation).
 * It gets the environment of its systemd unit, not the benchmark's.
 */
export function spawnAgent(scope: Scope, agentScript: string, configPath: string, stateDir: string, nodeArgs: readonly string[] = []): AgentProcess {
  const proc = spawn(process.execPath, [...nodeArgs, agentScript, 'run', '--config', configPath, '--state-dir', stateDir, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: agentEnvironment(),
  });
  scope.process(proc, 'SIGTERM', 10_000);
  // BENCH_AGENT_OUTPUT=<file>: everything the agent writes, e.g. with BENCH_AGENT_NODE_ARGS=--trace-deopt.
  const file = process.env.BENCH_AGENT_OUTPUT;
  if (file) for (const s of [proc.stdout, proc.stderr]) s?.on('data', (d: Buffer) => appendFileSync(file, d));
  return { pid: proc.pid as number, proc, output: tail(proc) };
}
