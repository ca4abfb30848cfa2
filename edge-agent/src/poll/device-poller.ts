import type { GatewayEvent, PointSpec, Reading, ResolvedDevice } from '@cityedge/contract';
import { decodeBlock, planReads, scaleValue, valueError, ModbusError, type ModbusTransport, type ReadBlock } from '@cityedge/drivers';
import { DeviceHealth } from './device-health.js';

/** Where polled readings and device events go: the outbox. */
export interface ReadingSink {
  appendReadings(readings: Reading[]): void;
  appendEvent(event: GatewayEvent): void;
}

export interface DeviceStats {
  id: string;
  polls: number;
  /** Polls that got an answer (ok or partial); 0 with polls > 0: the device never answered. */
  answers: number;
  failures: number;
  consecutiveFailures: number;
  quarantined: boolean;
  lastPollAt: number | undefined;
  lastError: string | undefined;
  /** When the current run of failed polls began. */
  failingSince: number | undefined;
  /** How late the last poll started against its schedule, ms. */
  lastSlipMs: number;
  maxSlipMs: number;
}

/** The outcome of one transaction attempt sequence, for the scheduler's bookkeeping. */
export type PollOutcome = 'ok' | 'partial' | 'failed';

/**
 * One device's share of a line: its coalesced read plan, its schedule and health. It does no I/O
 * of its own accord; the line scheduler calls poll() when the device is due and the line is free.
 */
export class DevicePoller {
  readonly device: ResolvedDevice;
  readonly plan: ReadBlock[];
  nextDue = 0;
  readonly stats: DeviceStats;
  private readonly health: DeviceHealth;
  /** Raw values of the last successful reads, e.g. the decimals a write must be scaled with. */
  readonly lastRaw = new Map<string, number | boolean | string>();

  constructor(device: ResolvedDevice, maxGapRegisters: number) {
    this.device = device;
    this.plan = planReads(device.points, { maxGapRegisters });
    this.stats = {
      id: device.id,
      polls: 0,
      answers: 0,
      failures: 0,
      consecutiveFailures: 0,
      quarantined: false,
      lastPollAt: undefined,
      lastError: undefined,
      failingSince: undefined,
      lastSlipMs: 0,
      maxSlipMs: 0,
    };
    this.health = new DeviceHealth(this.stats, device.id);
  }

  /**
   * Reads every block of the plan. A block answered with a Modbus exception marks only its points
   * bad (the device is alive); a block that gets no valid answer after all attempts ends the poll
   * early so a silent device does not hold the line for every block.
   */
  async poll(
    transport: ModbusTransport,
    opts: { attempts: number; gapMs: number; now: () => number; sleep: (ms: number) => Promise<void> },
  ): Promise<{ outcome: PollOutcome; readings: Reading[]; error?: ModbusError }> {
    const raw = new Map<string, number | boolean | string>();
    const failed = new Map<string, string>();
    let commError: ModbusError | undefined;
    let answered = 0;
    for (const block of this.plan) {
      if (commError) {
        for (const p of block.points) failed.set(p.name, errorCode(commError));
        continue;
      }
      let lastErr: ModbusError | undefined;
      for (let attempt = 0; attempt < opts.attempts; attempt++) {
        try {
          const data = await readBlock(transport, this.device, block);
          for (const [name, value] of decodeBlock(block, data)) raw.set(name, value);
          lastErr = undefined;
          answered++;
          break;
        } catch (err) {
          lastErr = toModbusError(err);
          if (lastErr.code === 'EDGE_MODBUS_EXCEPTION' || lastErr.code === 'EDGE_MODBUS_PORT') break;
        } finally {
          if (opts.gapMs > 0) await opts.sleep(opts.gapMs);
        }
      }
      if (!lastErr) continue;
      if (lastErr.code === 'EDGE_MODBUS_EXCEPTION') {
        for (const p of block.points) failed.set(p.name, errorCode(lastErr));
        // 0x0A/0x0B come from a gateway in front of the device: the device itself did not answer.
        if (lastErr.exceptionCode === 0x0a || lastErr.exceptionCode === 0x0b) commError = lastErr;
        else answered++;
      } else {
        commError = lastErr;
        for (const p of block.points) failed.set(p.name, lastErr.code);
      }
    }
    const ts = opts.now();
    for (const [name, value] of raw) this.lastRaw.set(name, value);
    const readings = this.toReadings(raw, failed, ts);
    const outcome: PollOutcome = commError && answered === 0 ? 'failed' : failed.size > 0 ? 'partial' : 'ok';
    return commError ? { outcome, readings, error: commError } : { outcome, readings };
  }

  private toReadings(raw: Map<string, number | boolean | string>, failed: Map<string, string>, ts: number): Reading[] {
    const dev = this.device.id;
    const out: Reading[] = [];
    for (const p of this.device.points) {
      const err = failed.get(p.name);
      const value = raw.get(p.name);
      if (err !== undefined || value === undefined) {
        out.push(badReading(dev, p, ts, err ?? 'EDGE_MODBUS_FRAME'));
        continue;
      }
      let decimals: number | undefined;
      if (p.decimalsFrom !== undefined) {
        const d = raw.get(p.decimalsFrom);
        if (typeof d !== 'number') {
          out.push(badReading(dev, p, ts, failed.get(p.decimalsFrom) ?? 'EDGE_VALUE_INVALID'));
          continue;
        }
        decimals = d;
      }
      const v = typeof value === 'number' ? scaleValue(p, value, decimals) : value;
      // NaN, infinity, or outside the point's valid range: never published as a good value.
      const bad = valueError(p, v);
      out.push(bad ? badReading(dev, p, ts, bad) : goodReading(dev, p, ts, v));
    }
    return out;
  }

  /** Bookkeeping after a poll; returns an event when the device went offline or came back. */
  record(outcome: PollOutcome, error: ModbusError | undefined, at: number, quarantineAfter: number): GatewayEvent | undefined {
    const code = outcome === 'partial' ? (error?.code ?? 'EDGE_MODBUS_EXCEPTION') : error?.code;
    return this.health.record(outcome, code, at, quarantineAfter, () => ({
      message: `device ${this.device.id} stopped answering (${error?.code ?? 'error'}); polled with backoff until it returns`,
      data: { failures: this.stats.consecutiveFailures, error: error?.code, unitId: this.device.unitId, line: this.device.lineId },
    }));
  }

  /** Interval until the next poll: the configured one, or an exponential backoff while quarantined. */
  intervalMs(maxBackoffMs: number, quarantineAfter: number): number {
    const base = this.device.pollIntervalMs;
    if (!this.stats.quarantined) return base;
    const steps = Math.min(this.stats.consecutiveFailures - quarantineAfter + 1, 16);
    return Math.max(base, Math.min(maxBackoffMs, base * 2 ** steps));
  }
}

/**
 * Readings are built as single object literals of one shape per kind (no spreads of optional
 * fields): 500 a second go through here, and the spreads cost a shape change per field.
 */
function goodReading(dev: string, p: PointSpec, ts: number, v: number | boolean | string): Reading {
  return p.unit === undefined ? { dev, pt: p.name, ts, v, q: 'good' } : { dev, pt: p.name, ts, u: p.unit, v, q: 'good' };
}

/** A reading without a value, `err` saying why. */
export function badReading(dev: string, p: PointSpec, ts: number, err: string): Reading {
  return p.unit === undefined ? { dev, pt: p.name, ts, v: null, q: 'bad', err } : { dev, pt: p.name, ts, u: p.unit, v: null, q: 'bad', err };
}

function readBlock(transport: ModbusTransport, device: ResolvedDevice, block: ReadBlock): Promise<number[] | boolean[]> {
  switch (block.table) {
    case 'coil':
    case 'discrete':
      return transport.readBits(device.unitId, block.table, block.address, block.count, device.timeoutMs);
    case 'holding':
    case 'input':
      return transport.readRegisters(device.unitId, block.table, block.address, block.count, device.timeoutMs);
  }
}

function errorCode(err: ModbusError): string {
  return err.code === 'EDGE_MODBUS_EXCEPTION' ? `EDGE_MODBUS_EXCEPTION_${(err.exceptionCode ?? 0).toString(16).padStart(2, '0').toUpperCase()}` : err.code;
}

export function toModbusError(err: unknown): ModbusError {
  if (err instanceof ModbusError) return err;
  return new ModbusError('EDGE_MODBUS_FRAME', err instanceof Error ? err.message : String(err), { cause: err });
}
