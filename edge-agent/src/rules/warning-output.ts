import type { WarningOutput } from '@cityedge/contract';
import { parsePattern, patternAt, type OutputPattern } from './output-pattern.js';
import type { OutputWriter } from './output-writer.js';
import type { RuleScheduler, TimerHandle } from './rule-context.js';

const STEADY_RETRY_MS = 5000;

/** One siren or beacon point sounding a pattern until stopped; stopping writes its "off" value. */
export class WarningOutputDriver {
  private timer: TimerHandle | undefined;
  private pattern: OutputPattern | undefined;
  private output: WarningOutput | undefined;
  private signature: string | undefined;
  private t0 = 0;

  constructor(
    private readonly writer: OutputWriter,
    private readonly scheduler: RuleScheduler,
    private readonly now: () => number,
  ) {}

  /** The running pattern, if any. */
  get running(): string | undefined {
    return this.output?.pattern;
  }

  /** Starts the output's pattern from its beginning, unless exactly that is already running. */
  start(output: WarningOutput): void {
    const signature = `${output.pattern}|${String(output.on)}|${String(output.off)}`;
    if (this.signature === signature) return;
    this.cancel();
    this.signature = signature;
    this.output = output;
    this.pattern = parsePattern(output.pattern);
    this.t0 = this.now();
    this.tick();
  }

  stop(): void {
    const o = this.output;
    if (!o) return;
    this.halt();
    void this.writer.write(o.dev, o.pt, o.off);
  }

  /** Cancels timers without writing (the agent is stopping; the next start drives the outputs again). */
  halt(): void {
    this.cancel();
    this.signature = undefined;
    this.output = undefined;
    this.pattern = undefined;
  }

  private tick(): void {
    const p = this.pattern;
    const o = this.output;
    if (!p || !o) return;
    const { on, nextEdge } = patternAt(p, this.now() - this.t0);
    const signature = this.signature;
    void this.writer.write(o.dev, o.pt, on ? o.on : o.off).then((ok) => {
      // A steady output has no next edge to try again at: retry a failed write.
      if (!ok && p.kind === 'steady' && this.signature === signature && this.timer === undefined) {
        this.timer = this.scheduler.setTimer(this.now() + STEADY_RETRY_MS, () => {
          this.timer = undefined;
          this.tick();
        });
      }
    });
    if (Number.isFinite(nextEdge)) {
      this.timer = this.scheduler.setTimer(this.t0 + nextEdge, () => {
        this.timer = undefined;
        this.tick();
      });
    }
  }

  private cancel(): void {
    if (this.timer) this.scheduler.cancel(this.timer);
    this.timer = undefined;
  }
}
