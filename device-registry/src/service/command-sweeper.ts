import type { Logger } from 'pino';
import type { CommandService } from './command-service.js';

/**
 * The part that keeps commands moving without a request: every `intervalMs` it expires commands
 * whose time ran out and retries publishing those the broker has not taken. Ticks never overlap;
 * `stop` waits for one in flight, so nothing touches the store after it.
 */
export class CommandSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    private readonly commands: Pick<CommandService, 'sweep'>,
    private readonly logger: Logger,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inflight;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inflight = this.commands.sweep().then(
        ({ expired, published }) => {
          if (expired + published > 0) this.logger.debug({ expired, published }, 'command sweep');
        },
        (err: unknown) => this.logger.error({ err }, 'command sweep failed'),
      );
      void this.inflight.then(() => this.schedule());
    }, this.intervalMs);
  }
}
