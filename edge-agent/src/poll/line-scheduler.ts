import type { Logger } from 'pino';
import { isDeepStrictEqual } from 'node:util';
import type { ModbusLineConfig, PointSpec, Reading, ResolvedDevice, ResolvedLine } from '@cityedge/contract';
import { encodeValue, ModbusError, type ModbusTransport } from '@cityedge/drivers';
import { Sleeper } from './sleeper.js';
import { badReading, DevicePoller, toModbusError, type DeviceStats, type ReadingSink } from './device-poller.js';
import { systemCause } from './system-cause.js';

export interface LineSchedulerOptions {
  line: ResolvedLine;
  transport: ModbusTransport;
  /** Builds a transport for the same line with other settings (a scan at another baud rate). */
  transportFactory?: (line: ResolvedLine['config']) => ModbusTransport;
  sink: ReadingSink;
  logger: Logger;
  now?: () => number;
  /** Called after every poll, e.g. to count it in metrics; `failingBefore`: the device's previous poll had failed. */
  onPoll?: (deviceId: string, outcome: 'ok' | 'partial' | 'failed', durationMs: number, failingBefore: boolean) => void;
}

/** Why a line's port or socket cannot be opened, while it cannot. */
export interface LineOpenError {
  /** EDGE_MODBUS_PORT */
  code: string;
  /** The system's reason when known (ENOENT, EACCES, EBUSY, ECONNREFUSED...). */
  cause?: string;
  message: string;
  since: number;
}

export interface LineStats {
  id: string;
  description: string;
  connected: boolean;
  /**
   * The line's first connection attempt is under way (a Firmata board's first handshake): its
   * devices are not polled until it ends, so none of them is a problem yet. Modbus lines open at
   * their first poll and do not set it. It stays set until every device has had its first poll, so
   * a health check never judges the board between two of them.
   */
  starting?: boolean | undefined;
  openError: LineOpenError | undefined;
  transactions: number;
  devices: DeviceStats[];
}

/**
 * Work on the bus besides the schedule. Urgent jobs (writes, reads on request) go before the
 * next poll; idle jobs (a scan's probes) go where they fit before the next poll, or once they
 * have waited as long as the line's shortest poll interval (at least IDLE_MIN_WAIT_MS, at most
 * IDLE_MAX_WAIT_MS): a scan takes turns with the polls on a busy line, so neither starves.
 */
interface Job {
  urgent: boolean;
  /** How long it may hold the bus, for fitting an idle job before the next poll. */
  costMs: number;
  queuedAt: number;
  run(): Promise<void>;
  cancel(err: Error): void;
}

const IDLE_MIN_WAIT_MS = 200;
const IDLE_MAX_WAIT_MS = 2000;

const REOPEN_MIN_MS = 1000;
const REOPEN_MAX_MS = 30_000;

/** Silence between frames on a serial bus: 3.5 character times, fixed 1.75 ms above 19200 baud. */
export function interFrameGapMs(line: ModbusLineConfig): number {
  if (line.type === 'tcp') return 0;
  if (line.interFrameGapMs !== undefined) return line.interFrameGapMs;
  if (line.type === 'rtu-over-tcp') return 2;
  if (line.baudRate > 19200) return 1.75;
  const bitsPerChar = 1 + line.dataBits + (line.parity === 'none' ? 0 : 1) + line.stopBits;
  return (3.5 * bitsPerChar * 1000) / line.baudRate;
}

/**
 * Owns one bus: one transaction at a time, the inter-frame gap kept, each device polled on its
 * own interval (fixed rate, no drift), writes served between polls. A device that stops
 * answering is quarantined: probed with a single attempt on an exponential backoff, so it
 * cannot hold the line against the devices that still answer.
 */
export class LineScheduler {
  private readonly opts: LineSchedulerOptions;
  private readonly now: () => number;
  private readonly log: Logger;
  private line: ResolvedLine;
  private pollers: DevicePoller[];
  private gapMs: number;
  private readonly jobs: Job[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly sleeper = new Sleeper();
  private transactions = 0;
  private reopenAt = 0;
  private reopenDelay = REOPEN_MIN_MS;
  private openError: LineOpenError | undefined;

  constructor(opts: LineSchedulerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ module: 'line', line: opts.line.config.id });
    this.line = opts.line;
    this.pollers = opts.line.devices.map((d) => new DevicePoller(d, opts.line.config.maxGapRegisters));
    this.gapMs = interFrameGapMs(opts.line.config);
  }

  readonly kind = 'modbus';

  get id(): string {
    return this.line.config.id;
  }

  /** The devices on this line (with their points), as configured now. */
  devices(): readonly ResolvedDevice[] {
    return this.line.devices;
  }

  /** The line as configured now. */
  get config(): ResolvedLine['config'] {
    return this.line.config;
  }

  /**
   * Takes new settings and devices of the same endpoint in place: pollers of unchanged devices
   * keep their schedule and health, new or changed devices start fresh, removed ones stop.
   */
  reconfigure(line: ResolvedLine): void {
    const kept = new Map(this.pollers.map((p) => [p.device.id, p]));
    const now = this.now();
    this.pollers = line.devices.map((d) => {
      const old = kept.get(d.id);
      if (old && isDeepStrictEqual(old.device, d) && line.config.maxGapRegisters === this.line.config.maxGapRegisters) return old;
      const p = new DevicePoller(d, line.config.maxGapRegisters);
      p.nextDue = now;
      return p;
    });
    this.line = line;
    this.gapMs = interFrameGapMs(line.config);
    this.sleeper.wake();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // All due now: the line polls them one after the other, and each keeps the slot its first
    // poll actually started in (pollOne). A line's devices then answer in one burst per interval,
    // which the outbox commits (one fsync) and forwards (one message) together, instead of one
    // commit and one message for each device spread over the interval.
    const t0 = this.now();
    for (const p of this.pollers) p.nextDue = t0;
    this.loop = this.run().catch((err: unknown) => this.log.error({ err }, 'line scheduler stopped on an unexpected error'));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.sleeper.wake();
    await this.loop;
    for (const job of this.jobs.splice(0)) job.cancel(new Error(`line ${this.id} stopped`));
    await this.opts.transport.close().catch(() => undefined);
  }

  stats(): LineStats {
    return {
      id: this.id,
      description: this.opts.transport.description,
      connected: this.opts.transport.isOpen,
      openError: this.openError && { ...this.openError },
      transactions: this.transactions,
      devices: this.pollers.map((p) => ({ ...p.stats })),
    };
  }

  /** Writes an engineering value to a writable point (FC05/06/15/16), between polls. */
  write(deviceId: string, pointName: string, value: number | boolean): Promise<void> {
    const poller = this.pollers.find((p) => p.device.id === deviceId);
    if (!poller) return Promise.reject(new Error(`no device "${deviceId}" on line ${this.id}`));
    const point = poller.device.points.find((p) => p.name === pointName);
    if (!point) return Promise.reject(new Error(`device "${deviceId}" has no point "${pointName}"`));
    if (!point.writable) return Promise.reject(new Error(`point "${pointName}" of device "${deviceId}" is not writable`));
    return this.submit(true, poller.device.timeoutMs, () => this.doWrite(poller, point, value));
  }

  /** Reads every point of a device now, before the next scheduled poll; the readings also go out as usual. */
  readNow(deviceId: string): Promise<Reading[]> {
    const poller = this.pollers.find((p) => p.device.id === deviceId);
    if (!poller) return Promise.reject(new Error(`no device "${deviceId}" on line ${this.id}`));
    return this.submit(true, poller.device.timeoutMs * Math.max(1, poller.plan.length), () => this.pollOne(poller, false));
  }

  /**
   * Runs `fn` on the bus when the schedule leaves room for `costMs` (a scan's probe), with the
   * line's transport, or with one for other settings (a baud rate) that replaces it meanwhile.
   */
  whenIdle<T>(costMs: number, fn: (transport: ModbusTransport, gapMs: number) => Promise<T>, settings?: Partial<ResolvedLine['config']>): Promise<T> {
    return this.submit(false, costMs, async () => {
      if (!settings) {
        const portError = await this.ensureOpen();
        if (portError) throw portError;
        return fn(this.opts.transport, this.gapMs);
      }
      const factory = this.opts.transportFactory;
      if (!factory) throw new Error(`line ${this.id} cannot change its settings for a scan`);
      const config = { ...this.line.config, ...settings } as ResolvedLine['config'];
      await this.opts.transport.close().catch(() => undefined);
      const other = factory(config);
      try {
        await other.open();
        return await fn(other, interFrameGapMs(config));
      } finally {
        await other.close().catch(() => undefined);
      }
    });
  }

  private submit<T>(urgent: boolean, costMs: number, work: () => Promise<T>): Promise<T> {
    if (!this.running) return Promise.reject(new Error(`line ${this.id} is not running`));
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({
        urgent,
        costMs,
        queuedAt: this.now(),
        run: () => work().then(resolve, reject),
        cancel: reject,
      });
      this.sleeper.wake();
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      const job = this.nextJob();
      if (job) {
        this.jobs.splice(this.jobs.indexOf(job), 1);
        await job.run();
        continue;
      }
      const next = this.nextPoller();
      const idle = this.jobs[0];
      if (!next) {
        await this.sleeper.sleep(idle ? Math.max(1, idle.queuedAt + this.idleWaitMs() - this.now()) : 60_000);
        continue;
      }
      const wait = next.nextDue - this.now();
      if (wait > 0) {
        await this.sleeper.sleep(idle ? Math.min(wait, Math.max(1, idle.queuedAt + this.idleWaitMs() - this.now())) : wait);
        continue;
      }
      const deferUntil = next.stats.quarantined ? this.probeWindowBlockedUntil(next) : undefined;
      if (deferUntil !== undefined) {
        await this.sleeper.sleep(deferUntil - this.now());
        continue;
      }
      await this.pollOne(next);
    }
  }

  /** An urgent job, else an idle one that fits before the next poll or has waited long enough. */
  private nextJob(): Job | undefined {
    const urgent = this.jobs.find((j) => j.urgent);
    if (urgent) return urgent;
    const idle = this.jobs[0];
    if (!idle) return undefined;
    const now = this.now();
    if (now - idle.queuedAt >= this.idleWaitMs()) return idle;
    const next = this.nextPoller();
    return !next || next.nextDue >= now + idle.costMs + this.gapMs ? idle : undefined;
  }

  /** How long the line can be lent out at once without making its polls late (a scan's slot). */
  slotBudgetMs(): number {
    return this.idleWaitMs();
  }

  /** How long an idle job waits for a window before it takes its turn. */
  private idleWaitMs(): number {
    let shortest = IDLE_MAX_WAIT_MS;
    for (const p of this.pollers) if (!p.stats.quarantined) shortest = Math.min(shortest, p.device.pollIntervalMs);
    return Math.max(IDLE_MIN_WAIT_MS, shortest);
  }

  /**
   * The device to poll next: among those due, devices that answer go before quarantined ones;
   * otherwise the one due first.
   */
  private nextPoller(): DevicePoller | undefined {
    const now = this.now();
    let best: DevicePoller | undefined;
    for (const p of this.pollers) {
      if (!best) {
        best = p;
        continue;
      }
      const pDue = p.nextDue <= now;
      const bestDue = best.nextDue <= now;
      if (pDue && bestDue && best.stats.quarantined !== p.stats.quarantined) {
        if (!p.stats.quarantined) best = p;
      } else if (p.nextDue < best.nextDue) best = p;
    }
    return best;
  }

  /**
   * A probe of a quarantined device can hold the line for its whole timeout (and the wait for a
   * late reply after it). It goes only where it fits before the next poll of a device that
   * answers, so a dead device cannot make the others late; after waiting a full backoff
   * interval for such a window it goes anyway. Returns when to look again, or undefined to go now.
   */
  private probeWindowBlockedUntil(probe: DevicePoller): number | undefined {
    const now = this.now();
    const line = this.line.config;
    if (now - probe.nextDue >= line.maxBackoffMs) return undefined;
    const cost = 2 * probe.device.timeoutMs + this.gapMs;
    let blockedUntil: number | undefined;
    for (const p of this.pollers) {
      if (p === probe || p.stats.quarantined || p.nextDue >= now + cost) continue;
      blockedUntil = Math.min(blockedUntil ?? Infinity, p.nextDue);
    }
    return blockedUntil === undefined ? undefined : Math.max(blockedUntil, now + 1);
  }

  private async ensureOpen(): Promise<ModbusError | undefined> {
    const t = this.opts.transport;
    if (t.isOpen) return undefined;
    if (this.now() < this.reopenAt) return new ModbusError('EDGE_MODBUS_PORT', `${t.description} is closed; next attempt to open it in ${this.reopenAt - this.now()} ms`);
    try {
      await t.open();
      this.reopenDelay = REOPEN_MIN_MS;
      this.openError = undefined;
      this.log.info({ port: t.description }, 'line open');
      return undefined;
    } catch (err) {
      const e = toModbusError(err);
      const cause = systemCause(err);
      this.openError = { code: e.code, ...(cause !== undefined && { cause }), message: e.message, since: this.openError?.since ?? this.now() };
      this.reopenAt = this.now() + this.reopenDelay;
      this.log.warn({ port: t.description, err: e, retryInMs: this.reopenDelay }, 'cannot open line');
      this.reopenDelay = Math.min(REOPEN_MAX_MS, this.reopenDelay * 2);
      return e;
    }
  }

  /** Polls a device: on its schedule (the next slot set, slip measured) or on request. */
  private async pollOne(poller: DevicePoller, scheduled = true): Promise<Reading[]> {
    const line = this.line.config;
    const started = this.now();
    // A device's first poll waits behind the others of its burst: that is its slot, not a slip.
    const first = poller.stats.polls === 0;
    if (scheduled && !first) {
      const slip = Math.max(0, started - poller.nextDue);
      poller.stats.lastSlipMs = slip;
      poller.stats.maxSlipMs = Math.max(poller.stats.maxSlipMs, slip);
    }
    const portError = await this.ensureOpen();
    let result: Awaited<ReturnType<DevicePoller['poll']>>;
    if (portError) {
      const ts = this.now();
      result = { outcome: 'failed', readings: poller.device.points.map((p) => badReading(poller.device.id, p, ts, portError.code)), error: portError };
    } else {
      result = await poller.poll(this.opts.transport, {
        attempts: poller.stats.quarantined ? 1 : line.retries + 1,
        gapMs: this.gapMs,
        now: this.now,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      });
      this.transactions += poller.plan.length;
      if (result.error?.code === 'EDGE_MODBUS_PORT') await this.opts.transport.close().catch(() => undefined);
    }
    const finished = this.now();
    const failingBefore = poller.stats.consecutiveFailures > 0;
    const event = poller.record(result.outcome, result.error, finished, line.quarantineAfter);
    this.opts.sink.appendReadings(result.readings);
    if (event) {
      this.opts.sink.appendEvent(event);
      this.log.warn({ device: poller.device.id, event: event.type, err: result.error?.code }, event.message);
    } else if (result.outcome !== 'ok') {
      this.log.debug({ device: poller.device.id, outcome: result.outcome, err: result.error?.code }, 'poll incomplete');
    }
    this.opts.onPoll?.(poller.device.id, result.outcome, finished - started, failingBefore);
    if (!scheduled) return result.readings;
    // Fixed rate: the next slot follows the previous one (the first: when it started); missed
    // slots are skipped, not bunched.
    const interval = poller.intervalMs(line.maxBackoffMs, line.quarantineAfter);
    if (first) poller.nextDue = started;
    let due = poller.nextDue + interval;
    if (due <= finished) due = finished + interval - ((finished - poller.nextDue) % interval);
    poller.nextDue = due;
    return result.readings;
  }

  private async doWrite(poller: DevicePoller, point: PointSpec, value: number | boolean): Promise<void> {
    const d = poller.device;
    const portError = await this.ensureOpen();
    if (portError) throw portError;
    const t = this.opts.transport;
    try {
      let decimals: number | undefined;
      if (point.decimalsFrom !== undefined) {
        const d = poller.lastRaw.get(point.decimalsFrom);
        if (typeof d !== 'number') throw new Error(`cannot scale a write to "${point.name}": "${point.decimalsFrom}" of device "${poller.device.id}" has not been read yet`);
        decimals = d;
      }
      const encoded = encodeValue(point, value, decimals);
      if (point.table === 'coil') {
        if (typeof encoded !== 'boolean') throw new Error(`point "${point.name}" needs a boolean`);
        await t.writeCoil(d.unitId, point.address, encoded, d.timeoutMs);
      } else if (Array.isArray(encoded) && encoded.length === 1) {
        await t.writeRegister(d.unitId, point.address, encoded[0]!, d.timeoutMs);
      } else if (Array.isArray(encoded)) {
        await t.writeRegisters(d.unitId, point.address, encoded, d.timeoutMs);
      } else {
        throw new Error(`point "${point.name}" cannot take a boolean`);
      }
      this.transactions++;
      this.log.info({ device: d.id, point: point.name, value }, 'point written');
    } finally {
      if (this.gapMs > 0) await new Promise((r) => setTimeout(r, this.gapMs));
    }
  }
}
