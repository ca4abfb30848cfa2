import type { ConfigReport, RuntimeProblems } from '@cityedge/contract';
import { problemsKey } from '../poll/runtime-problems.js';

export interface ProblemReporterOptions {
  /** The problems of the lines and devices now. */
  problems: () => RuntimeProblems;
  /** Publishes a report (retained on config/report). */
  publish: (report: ConfigReport) => void;
  /** Polls that end close together are looked at once; default 200 ms. */
  settleMs?: number;
}

/**
 * Keeps the registry's view of a gateway's line and device problems current: every config report
 * carries the problems of the running configuration, and when they change (a port that cannot be
 * opened, a device that never answered, one that comes back) the latest report is published again
 * with the new ones, so `edgectl gateway show` reflects them within a poll cycle rather than at
 * the next status refresh or configuration.
 */
export class ProblemReporter {
  private last: ConfigReport | undefined;
  private key = problemsKey({ lines: [], devices: [] });
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: ProblemReporterOptions) {}

  /** The report as it goes out: with the current problems; remembered for refreshes. */
  attach(report: ConfigReport): ConfigReport {
    const problems = this.opts.problems();
    this.key = problemsKey(problems);
    this.last = { ...report, problems };
    return this.last;
  }

  /** A poll ended: look again soon whether the problems changed. */
  poke(): void {
    if (this.stopped || this.timer || !this.last) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, this.opts.settleMs ?? 200);
  }

  /** Publishes the latest report again if the problems changed since it was sent. */
  refresh(): void {
    if (this.stopped || !this.last) return;
    const problems = this.opts.problems();
    const key = problemsKey(problems);
    if (key === this.key) return;
    this.key = key;
    this.last = { ...this.last, problems };
    this.opts.publish(this.last);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
