import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, nearly always 100). */
export function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process in ticks, or undefined without /proc. */
export function cpuTicks(pid: number): number | undefined {
  const t = cpuTimes(pid);
  return t && t.user + t.system;
}

/** utime and stime of a process in ticks, or undefined without /proc. */
export function cpuTimes(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: field 3 (state) is index 0.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(rest[11]), system: Number(rest[12]) };
  } catch {
    return undefined;
  }
}

export interface Rss {
  /** VmRSS: everything resident, including the shared text of the node binary. */
  total: number;
  /** RssAnon: the process's own memory (JS heap, malloc). */
  anon: number;
  /** RssFile: mapped files (the node binary, native modules). */
  file: number;
}

/** Resident memory of a process in bytes from /proc/<pid>/status, or undefined without /proc. */
export function rss(pid: number): Rss | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const total = kb('VmRSS');
    return Number.isFinite(total) ? { total, anon: kb('RssAnon'), file: kb('RssFile') } : undefined;
  } catch {
    return undefined;
  }
}

/** CPU use of a process over an interval, in % of one core. */
export class CpuMeter {
  private startTicks: number | undefined;
  private startTimes: { user: number; system: number } | undefined;
  private startAt = 0;

  constructor(
    private readonly pid: number,
    private readonly ticksPerSecond: number,
  ) {}

  begin(): void {
    this.startTimes = cpuTimes(this.pid);
    this.startTicks = this.startTimes && this.startTimes.user + this.startTimes.system;
    this.startAt = performance.now();
  }

  /** The share of the CPU time since begin() spent in the kernel (system calls: fsync, sockets), 0..1. */
  systemShare(): number | undefined {
    const end = cpuTimes(this.pid);
    const start = this.startTimes;
    if (!end || !start) return undefined;
    const total = end.user - start.user + end.system - start.system;
    return total > 0 ? (end.system - start.system) / total : undefined;
  }

  /** % of one core since begin(). */
  percent(): number | undefined {
    const end = cpuTicks(this.pid);
    if (end === undefined || this.startTicks === undefined) return undefined;
    const seconds = (performance.now() - this.startAt) / 1000;
    return ((end - this.startTicks) / this.ticksPerSecond / seconds) * 100;
  }
}

export interface RssSummary {
  max: number | undefined;
  mean: number | undefined;
  anonMax: number | undefined;
  fileMax: number | undefined;
  samples: number;
}

/** Samples RSS every intervalMs until stop(); max and mean in bytes. */
export class RssSampler {
  private readonly samples: Rss[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): RssSummary {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    const n = this.samples.length;
    if (n === 0) return { max: undefined, mean: undefined, anonMax: undefined, fileMax: undefined, samples: 0 };
    const max = (pick: (r: Rss) => number) => Math.max(...this.samples.map(pick));
    return {
      max: max((r) => r.total),
      mean: this.samples.reduce((a, r) => a + r.total, 0) / n,
      anonMax: max((r) => r.anon),
      fileMax: max((r) => r.file),
      samples: n,
    };
  }

  private sample(): void {
    const v = rss(this.pid);
    if (v !== undefined) this.samples.push(v);
  }
}

/** The p-th percentile (0..100) of sorted values, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
