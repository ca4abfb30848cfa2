import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Task = () => Promise<void> | void;

/**
 * Owns what a benchmark step starts (child processes, temp dirs, clients) and releases it in
 * reverse order on close(), also when the step failed. Scopes nest: closing the root (on SIGINT
 * or at the end) closes every open child scope first.
 */
export class Scope {
  private readonly tasks: Task[] = [];
  private readonly children = new Set<Scope>();
  /** Every live child process started under the root, for a last synchronous kill at exit. */
  private readonly processes: Set<ChildProcess>;
  private closed = false;

  constructor(private readonly parent?: Scope) {
    this.processes = parent ? parent.processes : new Set();
    parent?.children.add(this);
  }

  child(): Scope {
    return new Scope(this);
  }

  defer(task: Task): void {
    if (this.closed) throw new Error('scope already closed');
    this.tasks.push(task);
  }

  /** A fresh temp directory, removed on close. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Registers a child process: on close it gets `signal`, then SIGKILL after graceMs. */
  process(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): ChildProcess {
    this.processes.add(proc);
    proc.once('exit', () => this.processes.delete(proc));
    this.defer(() => stopProcess(proc, signal, graceMs));
    return proc;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.children].reverse()) await c.close();
    for (const task of this.tasks.splice(0).reverse()) {
      try {
        await task();
      } catch (err) {
        process.stderr.write(`bench: cleanup step failed: ${(err as Error).message}\n`);
      }
    }
    this.parent?.children.delete(this);
  }

  /** Last resort when the process exits without close(): SIGKILL whatever is still running. */
  killAllSync(): void {
    for (const p of this.processes) {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
  }
}

export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
