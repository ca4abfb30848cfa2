/**
 * What lets the demo end cleanly on every path: parts stopped in reverse order of start (each
 * bounded, so one that hangs cannot keep the socat pseudo-terminals alive), and output that
 * notices when the reader has gone (`node dist/demo.js | head -5`).
 */

export interface Part {
  name: string;
  stop(): Promise<unknown>;
}

/** Parts stop in reverse start order, each within `stepTimeoutMs`; errors are reported, not thrown. */
export class Shutdown {
  private readonly parts: Part[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly report: (message: string) => void,
    private readonly stepTimeoutMs = 5000,
  ) {}

  /** A part added while stopping (a start that was still under way) is stopped in the same run. */
  add(name: string, stop: () => Promise<unknown>): void {
    this.parts.push({ name, stop });
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  /** Stops everything once; later calls wait for the same run. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (let part = this.parts.pop(); part; part = this.parts.pop()) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.stepTimeoutMs)));
        try {
          const r = await Promise.race([part.stop().then(() => 'ok' as const), timeout]);
          if (r === 'timeout') this.report(`${part.name} did not stop within ${this.stepTimeoutMs} ms; going on`);
        } catch (err) {
          this.report(`${part.name} failed to stop: ${err instanceof Error ? err.message : String(err)}`);
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return this.running;
  }
}

/**
 * Writes to a stream until its reader goes away: EPIPE (or any write error) marks it closed,
 * calls `onClosed` once, and later writes are dropped instead of throwing.
 */
export class GuardedOutput {
  private closed = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly onClosed: (err: NodeJS.ErrnoException) => void,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => this.close(err));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(text: string): void {
    if (this.closed) return;
    try {
      this.stream.write(text);
    } catch (err) {
      this.close(err as NodeJS.ErrnoException);
    }
  }

  private close(err: NodeJS.ErrnoException): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(err);
  }
}
