import type { Logger } from 'pino';

/** A part of the gateway: no work in its constructor, start() and stop() clear what they start. */
export interface Part {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/**
 * Starts parts in the order given (each one's dependencies before it) and stops them in
 * reverse. A part that fails to start stops the ones already started, then the error goes up;
 * a part that fails to stop is logged and the others still stop.
 */
export class Runtime {
  private started: Part[] = [];

  constructor(private readonly log: Logger) {}

  async start(parts: readonly Part[]): Promise<void> {
    for (const part of parts) {
      try {
        await part.start();
      } catch (err) {
        this.log.error({ err, part: part.name }, 'a part could not start; stopping the others');
        await this.stop();
        throw err;
      }
      this.started.push(part);
    }
  }

  async stop(): Promise<void> {
    const parts = this.started.reverse();
    this.started = [];
    for (const part of parts) {
      try {
        await part.stop();
      } catch (err) {
        this.log.error({ err, part: part.name }, 'a part did not stop cleanly');
      }
    }
  }

  get running(): boolean {
    return this.started.length > 0;
  }
}
