import { spawn, type ChildProcess } from 'node:child_process';
import { AGENT_BUILD } from '../global-setup.js';

export interface ProgramResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs one of our built programs (agent, edgectl) as a user would, to its exit. Asynchronous on
 * purpose: the registry answering it usually runs in the test's own process.
 */
export function runProgram(program: string, args: string[], env: Record<string, string> = {}): Promise<ProgramResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [program, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => resolve({ code, out, err }));
  });
}

/**
 * The enrolled agent of `stateDir` as a service runs it. Its stderr is shown; TEST_AGENT_LOG=<level>
 * shows everything it logs at that level (for debugging a test).
 */
export function runEnrolledAgent(stateDir: string, logLevel = 'warn'): ChildProcess {
  const shown = process.env.TEST_AGENT_LOG;
  return spawn(process.execPath, [AGENT_BUILD, 'run', '--state-dir', stateDir, '--log-level', shown ?? logLevel], { stdio: ['ignore', shown ? 'inherit' : 'ignore', 'inherit'] });
}

/** Stops a child process with SIGTERM and waits for it to exit (nothing when it never started). */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A registry API client with an operator token: `{ status, body }` (body undefined when not JSON). */
export function registryApi(baseUrl: () => string, token: string) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
}
