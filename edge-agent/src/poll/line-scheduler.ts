import type { Logger } from 'pino';
import type { ModbusLineConfig, PointSpec, ResolvedLine } from '@cityedge/contract';
import { encodeValue, ModbusError, type ModbusTransport } from '@cityedge/drivers';
import { Sleeper } from './sleeper.js';
import { DevicePoller, toModbusError, type DeviceStats, type ReadingSink } from './device-poller.js';

export interface LineSchedulerOptions {
  line: ResolvedLine;
  transport: ModbusTransport;
  sink: ReadingSink;
  logger: Logger;
  now?: () => number;
  /** Called after every poll, e.g. to count it in metrics. */
  onPoll?: (deviceId: string, outcome: 'ok' | 'partial' | 'failed', durationMs: number) => void;
}

export interface LineStats {
  id: string;
  description: string;
  connected: boolean;
  transactions: number;
  devices: DeviceStats[];
}

interface WriteJob {
  poller: DevicePoller;
  point: PointSpec;
  value: number | boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

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
  private readonly pollers: DevicePoller[];
  private readonly gapMs: number;
  private readonly writes: WriteJob[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly sleeper = new Sleeper();
  private transactions = 0;
  private reopenAt = 0;
  private reopenDelay = REOPEN_MIN_MS;

  constructor(opts: LineSchedulerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ module: 'line', line: opts.line.config.id });
    this.pollers = opts.line.devices.map((d) => new DevicePoller(d, opts.line.config.maxGapRegisters));
    this.gapMs = interFrameGapMs(opts.line.config);
  }

  get id(): string {
    return this.opts.line.config.id;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Spread first polls over a short window so devices on a line do not all start at once.
    const t0 = this.now();
    this.pollers.forEach((p, i) => (p.nextDue = t0 + Math.min(i * 50, p.device.pollIntervalMs)));
    this.loop = this.run().catch((err: unknown) => this.log.error({ err }, 'line scheduler stopped on an unexpected error'));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.sleeper.wake();
    await this.loop;
    for (const job of this.writes.splice(0)) job.reject(new Error('line stopped'));
    await this.opts.transport.close().catch(() => undefined);
  }

  stats(): LineStats {
    return {
      id: this.id,
      description: this.opts.transport.description,
      connected: this.opts.transport.isOpen,
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
    if (!this.running) return Promise.reject(new Error(`line ${this.id} is not running`));
    return new Promise((resolve, reject) => {
      this.writes.push({ poller, point, value, resolve, reject });
      this.sleeper.wake();
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      const job = this.writes.shift();
      if (job) {
        await this.doWrite(job);
        continue;
      }
      const next = this.nextPoller();
      if (!next) {
        await this.sleeper.sleep(60_000);
        continue;
      }
      const wait = next.nextDue - this.now();
      if (wait > 0) {
        await this.sleeper.sleep(wait);
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
    const line = this.opts.line.config;
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
      this.log.info({ port: t.description }, 'line open');
      return undefined;
    } catch (err) {
      const e = toModbusError(err);
      this.reopenAt = this.now() + this.reopenDelay;
      this.log.warn({ port: t.description, err: e.message, retryInMs: this.reopenDelay }, 'cannot open line');
      this.reopenDelay = Math.min(REOPEN_MAX_MS, this.reopenDelay * 2);
      return e;
    }
  }

  private async pollOne(poller: DevicePoller): Promise<void> {
    const line = this.opts.line.config;
    const started = this.now();
    const slip = Math.max(0, started - poller.nextDue);
    poller.stats.lastSlipMs = slip;
    poller.stats.maxSlipMs = Math.max(poller.stats.maxSlipMs, slip);
    const portError = await this.ensureOpen();
    let result: Awaited<ReturnType<DevicePoller['poll']>>;
    if (portError) {
      result = { outcome: 'failed', readings: poller.device.points.map((p) => ({ dev: poller.device.id, pt: p.name, ts: this.now(), v: null, q: 'bad' as const, err: portError.code, ...(p.unit !== undefined && { u: p.unit }) })), error: portError };
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
    const event = poller.record(result.outcome, result.error, finished, line.quarantineAfter);
    this.opts.sink.appendReadings(result.readings);
    if (event) {
      this.opts.sink.appendEvent(event);
      this.log.warn({ device: poller.device.id, event: event.type, err: result.error?.code }, event.message);
    } else if (result.outcome !== 'ok') {
      this.log.debug({ device: poller.device.id, outcome: result.outcome, err: result.error?.code }, 'poll incomplete');
    }
    this.opts.onPoll?.(poller.device.id, result.outcome, finished - started);
    // Fixed rate: the next slot follows the previous one; missed slots are skipped, not bunched.
    const interval = poller.intervalMs(line.maxBackoffMs, line.quarantineAfter);
    let due = poller.nextDue + interval;
    if (due <= finished) due = finished + interval - ((finished - poller.nextDue) % interval);
    poller.nextDue = due;
  }

  private async doWrite(job: WriteJob): Promise<void> {
    const { poller, point, value } = job;
    const d = poller.device;
    const portError = await this.ensureOpen();
    if (portError) return job.reject(portError);
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
      job.resolve();
    } catch (err) {
      job.reject(err instanceof Error ? err : new Error(String(err)));
    } finally {
      if (this.gapMs > 0) await new Promise((r) => setTimeout(r, this.gapMs));
    }
  }
}
