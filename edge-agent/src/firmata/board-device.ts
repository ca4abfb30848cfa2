import { type FirmataPoint, type GatewayEvent, type Reading, type ResolvedFirmataDevice } from '@cityedge/contract';
import { FirmataError, type BoardTransport, type FirmataErrorCode } from '@cityedge/drivers';
import { DeviceHealth } from '../poll/device-health.js';
import type { DeviceStats, PollOutcome } from '../poll/device-poller.js';


export interface BoardDeviceStats extends DeviceStats {
  /** Points the board cannot serve as configured (no such pin, mode not supported), with why. */
  pinProblems: Record<string, string>;
}

interface PointState {
  point: FirmataPoint;
  /** Why the point cannot be served on this connection (EDGE_FIRMATA_PIN), if it cannot. */
  problem: FirmataError | undefined;
  /** pulse-counter: the count already published, and the connection it belongs to. */
  published: { count: number; session: number } | undefined;
}

/**
 * One device of a board line: a group of pins read together every pollIntervalMs. It turns what
 * the transport holds (the latest reports, pulse counts, an output's read-back) into readings
 * with the same quality rules as Modbus devices: a value the board did not give is published as
 * bad with v null and an error code, never as 0.
 */
export class BoardDevice {
  readonly device: ResolvedFirmataDevice;
  readonly stats: BoardDeviceStats;
  nextDue = 0;
  private readonly points: PointState[];
  private readonly health: DeviceHealth;

  constructor(device: ResolvedFirmataDevice) {
    this.device = device;
    this.points = device.points.map((point) => ({ point, problem: undefined, published: undefined }));
    this.stats = { id: device.id, polls: 0, answers: 0, failures: 0, consecutiveFailures: 0, failingSince: undefined, quarantined: false, lastPollAt: undefined, lastError: undefined, lastSlipMs: 0, maxSlipMs: 0, pinProblems: {} };
    this.health = new DeviceHealth(this.stats, device.id);
  }

  point(name: string): FirmataPoint | undefined {
    return this.device.points.find((p) => p.name === name);
  }

  /** The outputs that are set up on this connection (their read-back is the poll's round trip). */
  servableOutputs(): FirmataPoint[] {
    return this.points.filter((s) => s.point.mode === 'digital-out' && !s.problem).map((s) => s.point);
  }

  /** Sets every pin up on a fresh connection; a pin the board cannot do marks that point only. `level` gives each output its level. */
  setup(transport: BoardTransport, level: (p: FirmataPoint) => boolean): FirmataError[] {
    const problems: FirmataError[] = [];
    this.stats.pinProblems = {};
    for (const s of this.points) {
      const p = s.point;
      try {
        transport.setupPin({ pin: p.pin, mode: p.mode, ...(p.pullUp !== undefined && { pullUp: p.pullUp }), ...(p.mode === 'digital-out' && { initial: level(p) }) });
        s.problem = undefined;
      } catch (err) {
        s.problem = err instanceof FirmataError ? err : new FirmataError('EDGE_FIRMATA_PIN', String(err));
        this.stats.pinProblems[p.name] = s.problem.message;
        problems.push(s.problem);
      }
    }
    return problems;
  }

  /**
   * Readings of every point. `alive` is undefined when the board answered this poll's query,
   * else the error. Outputs are read back from the board (`outputs`: pin state by point name).
   */
  read(transport: BoardTransport, opts: { now: number; session: number; staleAfterMs: number; alive: FirmataError | undefined; outputs: Map<string, number> }): { outcome: PollOutcome; readings: Reading[]; error?: FirmataErrorCode } {
    const readings: Reading[] = [];
    let bad = 0;
    for (const s of this.points) {
      const p = s.point;
      const base = { dev: this.device.id, pt: p.name, ts: opts.now, ...(p.unit !== undefined && { u: p.unit }) };
      const fail = (err: string) => {
        bad++;
        readings.push({ ...base, v: null, q: 'bad', err });
      };
      if (opts.alive) {
        fail(opts.alive.code);
        continue;
      }
      if (s.problem) {
        fail(s.problem.code);
        continue;
      }
      let value: boolean | number | string;
      try {
        value = this.valueOf(transport, s, opts);
      } catch (err) {
        // The link went away between this poll's round trip and now.
        value = err instanceof FirmataError ? err.code : 'EDGE_FIRMATA_PORT';
      }
      if (typeof value === 'string') fail(value);
      else readings.push({ ...base, v: value, q: 'good' });
    }
    if (opts.alive) return { outcome: 'failed', readings, error: opts.alive.code };
    if (bad === 0) return { outcome: 'ok', readings };
    const problem = this.points.find((s) => s.problem)?.problem?.code ?? readings.find((r) => r.err)?.err;
    return { outcome: 'partial', readings, ...(problem !== undefined && { error: problem as FirmataErrorCode }) };
  }

  /** The point's engineering value, or the error code it is published bad with. */
  private valueOf(transport: BoardTransport, s: PointState, opts: { now: number; session: number; staleAfterMs: number; outputs: Map<string, number> }): boolean | number | string {
    const p = s.point;
    switch (p.mode) {
      case 'digital-in': {
        const sample = transport.digitalValue(p.pin);
        if (!sample) return 'EDGE_FIRMATA_TIMEOUT';
        return (sample.value === 1) !== (p.invert === true);
      }
      case 'digital-out': {
        const state = opts.outputs.get(p.name);
        if (state === undefined) return 'EDGE_FIRMATA_TIMEOUT';
        return (state === 1) !== (p.invert === true);
      }
      case 'analog-in': {
        const sample = transport.analogValue(p.pin);
        // Analog inputs are reported every sampling interval: an old sample means the reports stopped.
        if (!sample || opts.now - sample.at > opts.staleAfterMs) return 'EDGE_FIRMATA_TIMEOUT';
        return engineering(p, sample.value * (p.scale ?? 1) + (p.offset ?? 0));
      }
      case 'pulse-counter': {
        const counts = transport.pulseCount(p.pin);
        // Pulses to the active level: rising edges, or falling ones for an inverted (active-low) contact.
        const count = p.invert === true ? counts.falling : counts.rising;
        // Counting restarts with each connection; pulses while the board was away are lost (those readings were bad).
        const since = s.published && s.published.session === opts.session ? s.published.count : 0;
        s.published = { count, session: opts.session };
        return engineering(p, (count - since) * (p.scale ?? 1));
      }
    }
  }

  /** Bookkeeping after a poll, as for Modbus devices; returns device.offline / device.online when that changes. */
  record(outcome: PollOutcome, error: string | undefined, at: number, quarantineAfter: number, lineId: string): GatewayEvent | undefined {
    return this.health.record(outcome, error, at, quarantineAfter, () => ({
      message: `device ${this.device.id} stopped answering (${error ?? 'error'}); its board is reconnected with backoff until it returns`,
      data: { failures: this.stats.consecutiveFailures, error, line: lineId },
    }));
  }
}

/** Drops float noise (0.1 * 3 = 0.30000000000000004) and checks the point's range. */
function engineering(p: FirmataPoint, v: number): number | string {
  if (!Number.isFinite(v)) return 'EDGE_VALUE_INVALID';
  const clean = Number(v.toPrecision(12));
  if ((p.range?.min !== undefined && clean < p.range.min) || (p.range?.max !== undefined && clean > p.range.max)) return 'EDGE_VALUE_RANGE';
  return clean;
}
