import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Scope } from './scope.js';

/** A message from a child: one JSON object per stdout line. */
export type ChildMessage = Record<string, unknown>;

/**
 * A helper process of the benchmark (this same bundle started with a mode flag), spoken to in
 * JSON lines: the parent writes requests on its stdin, the child answers on stdout. Closing
 * stdin asks the child to exit; the scope then sends SIGTERM and, after a grace, SIGKILL.
 */
export class JsonChild {
  readonly proc: ChildProcess;
  private readonly messages: ChildMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private stderr = '';
  private exited: string | undefined;

  constructor(scope: Scope, benchScript: string, flag: string, nodeArgs: readonly string[] = []) {
    const proc = spawn(process.execPath, [...nodeArgs, benchScript, flag], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    scope.process(proc, 'SIGTERM', 3000);
    // Runs first on close: the child ends on its own when its stdin closes.
    scope.defer(() => {
      proc.stdin?.end();
    });
    proc.stdin?.on('error', () => undefined);
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        this.messages.push(JSON.parse(line) as ChildMessage);
      } catch {
        return;
      }
      this.notify();
    });
    proc.once('exit', (code, signal) => {
      this.exited = `${flag} child exited (${code ?? signal})${this.stderr ? `: ${this.stderr.trim()}` : ''}`;
      this.notify();
    });
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  send(message: unknown): void {
    this.proc.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  /** Waits for (and consumes) the first message with this key; rejects when the child exits or reports an error. */
  async take<T>(key: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => key in m || 'error' in m);
      if (i >= 0) {
        const [m] = this.messages.splice(i, 1) as [ChildMessage];
        if ('error' in m && !(key in m)) throw new Error(`child: ${String(m.error)}`);
        return m[key] as T;
      }
      if (this.exited) throw new Error(this.exited);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for "${key}" from the child${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * The child side: calls `onMessage` for every JSON line on stdin (in order, one at a time),
 * writes answers with `reply`, and runs `onExit` once when stdin closes or SIGTERM arrives.
 */
export function serveJsonChild(onMessage: (m: ChildMessage) => Promise<void>, onExit: () => Promise<void>): void {
  let chain = Promise.resolve();
  let exiting = false;
  const exit = () => {
    if (exiting) return;
    exiting = true;
    void chain
      .then(onExit)
      .catch(() => undefined)
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      try {
        await onMessage(JSON.parse(line) as ChildMessage);
      } catch (err) {
        reply({ error: (err as Error).message });
      }
    });
  });
  rl.on('close', exit);
  process.stdin.on('error', exit);
  process.on('SIGTERM', exit);
  process.on('SIGINT', () => undefined); // the parent decides when the child goes
}

export function reply(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}
