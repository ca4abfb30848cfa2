import type { Logger } from 'pino';
import type { FirmataLineConfig, FirmataPoint, Reading, ResolvedFirmataLine } from '@cityedge/contract';
import { FirmataError, type BoardTransport } from '@cityedge/drivers';
import { Backoff } from '../forward/backoff.js';
import type { ReadingSink } from '../poll/device-poller.js';
import { Sleeper } from '../poll/sleeper.js';
import type { LineStats } from '../poll/line-scheduler.js';
import { BoardDevice, type BoardDeviceStats } from './board-device.js';

export interface FirmataLineOptions {
  line: ResolvedFirmataLine<FirmataLineConfig>;
  /** The board's transport (createBoardTransport(line.config) in the agent). */
  transport: BoardTransport;
  sink: ReadingSink;
  logger: Logger;
  now?: () => number;
  /** Jitter of the reconnect backoff, uniform in [0, 1). */
  random?: () => number;
  /** Called after every poll, e.g. to count it in metrics. */
  onPoll?: (deviceId: string, outcome: 'ok' | 'partial' | 'failed', durationMs: number, failingBefore: boolean) => void;
}

export interface FirmataLineStats extends LineStats {
  devices: BoardDeviceStats[];
  /** What the board said in its last handshake. */
  board: { firmware: string; protocol: string; handshakeMs: number } | undefined;
  reconnects: number;
}

const RECONNECT_MIN_MS = 1000;

/**
 * The agent's source for one Firmata board: connects (and reconnects with capped, jittered
 * backoff when the board goes away), sets the pins up on every connection, and publishes a
 * reading of every point of each device every pollIntervalMs. Each poll makes one round trip to
 * the board (the read-back of its outputs, or a version query), so a board that stops answering
 * while its port stays open (hung firmware, a dead network path) is noticed too; after
 * quarantineAfter such polls in a row the link is closed and opened again (a USB board resets
 * when its port opens). Outputs are driven to their last written (or initial) level on every
 * connection, so a siren sounding before an unplug sounds again after it.
 *
 * The devices are not polled until the first connection attempt has ended: a board still booting
 * or completing its first handshake (up to handshakeTimeoutMs) is starting, not failing, so none of
 * its devices counts a failed poll, goes offline or is reported as a problem meanwhile. Once the
 * board has answered, or that attempt has failed, polls run as usual: a board that cannot be
 * reached shows its devices as never answered, and one that drops later as failing, then quarantined.
 */
export class FirmataLine {
  private readonly opts: FirmataLineOptions;
  private readonly cfg: FirmataLineConfig;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly boardDevices: BoardDevice[];
  private readonly backoff: Backoff;
  /** The level each output should have, by "device/point": last written, else its initial. */
  private readonly desired = new Map<string, boolean>();
  private running = false;
  /** The first connection attempt since start() is under way: the devices wait for it (see the class comment). */
  private starting = false;
  private loop: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private readonly sleeper = new Sleeper();
  private reopenAt = 0;
  private openError: FirmataError | undefined;
  /** Since when the board has been unreachable (for the line's problems). */
  private openSince: number | undefined;
  /** Bumped on every connection: pulse counts restart with it. */
  private session = 0;
  private transactions = 0;
  private reconnects = 0;
  private offLost: (() => void) | undefined;

  constructor(opts: FirmataLineOptions) {
    this.opts = opts;
    this.cfg = opts.line.config;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ module: 'firmata-line', line: this.cfg.id });
    this.boardDevices = opts.line.devices.map((d) => new BoardDevice(d));
    this.backoff = new Backoff({ minMs: RECONNECT_MIN_MS, maxMs: this.cfg.maxBackoffMs, random: opts.random ?? Math.random });
    for (const d of this.boardDevices) for (const p of d.device.points) if (p.mode === 'digital-out') this.desired.set(key(d.device.id, p.name), p.initial === true);
  }

  readonly kind = 'firmata';

  /** The devices on this board (their points are pins), as configured. */
  devices(): ReadonlyArray<{ id: string; points: ReadonlyArray<{ name: string; writable: boolean; unit?: string | undefined }> }> {
    return this.opts.line.devices.map((d) => ({ id: d.id, points: d.points.map((p) => ({ name: p.name, writable: p.mode === 'digital-out' && p.writable !== false, unit: p.unit })) }));
  }

  /** Reads a device's pins now (one round trip to the board first), outside its schedule; the readings also go out as usual. */
  async readNow(deviceId: string): Promise<Reading[]> {
    const device = this.boardDevices.find((d) => d.device.id === deviceId);
    if (!device) throw new Error(`no device "${deviceId}" on board ${this.id}`);
    const { alive, outputs } = await this.probe(device);
    const result = device.read(this.opts.transport, { now: this.now(), session: this.session, staleAfterMs: 10 * this.cfg.samplingIntervalMs + this.cfg.timeoutMs, alive, outputs });
    this.opts.sink.appendReadings(result.readings);
    return result.readings;
  }

  get id(): string {
    return this.cfg.id;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.starting = true;
    this.offLost = this.opts.transport.onLost((err) => this.onLost(err));
    this.loop = this.run().catch((err: unknown) => this.log.error({ err }, 'firmata line stopped on an unexpected error'));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.sleeper.wake();
    await this.loop;
    this.offLost?.();
    // Closing also ends a handshake under way (a board that does not answer would hold stop() for handshakeTimeoutMs).
    await this.opts.transport.close().catch(() => undefined);
    await this.connecting?.catch(() => undefined);
  }

  stats(): FirmataLineStats {
    const t = this.opts.transport;
    const info = t.info;
    return {
      id: this.id,
      description: t.description,
      connected: t.isOpen,
      // Until each device has had its first poll after that attempt: judging the board between the
      // two would count a device that answers as one that does not.
      starting: this.running && (this.starting || this.boardDevices.some((d) => d.stats.polls === 0)),
      openError: this.openError && !t.isOpen ? { code: this.openError.code, message: this.openError.message, since: this.openSince ?? this.now() } : undefined,
      transactions: this.transactions,
      devices: this.boardDevices.map((d) => ({ ...d.stats, pinProblems: { ...d.stats.pinProblems } })),
      board: info && { firmware: info.firmware, protocol: info.protocol, handshakeMs: info.handshakeMs },
      reconnects: this.reconnects,
    };
  }

  /**
   * Drives a digital output (true = active; `invert` applies) and resolves once the board reads
   * the new level back. Remembered, and driven again whenever the board reconnects.
   */
  async write(deviceId: string, pointName: string, value: number | boolean): Promise<void> {
    const device = this.boardDevices.find((d) => d.device.id === deviceId);
    if (!device) throw new Error(`no device "${deviceId}" on line ${this.id}`);
    const point = device.point(pointName);
    if (!point) throw new Error(`device "${deviceId}" has no point "${pointName}"`);
    if (point.mode !== 'digital-out' || point.writable === false) throw new Error(`point "${pointName}" of device "${deviceId}" is not writable`);
    if (typeof value === 'number' && value !== 0 && value !== 1) throw new Error(`point "${pointName}" takes true/false (or 1/0), got ${value}`);
    if (!this.running) throw new Error(`line ${this.id} is not running`);
    const on = value === true || value === 1;
    this.desired.set(key(deviceId, pointName), on);
    const t = this.opts.transport;
    if (!t.isOpen) throw this.openError ?? new FirmataError('EDGE_FIRMATA_PORT', `${t.description} is not connected; the value is driven when it reconnects`);
    const level = on !== (point.invert === true);
    this.transactions++;
    const readBack = await t.digitalWrite(point.pin, level, this.cfg.timeoutMs);
    if (readBack !== level) throw new FirmataError('EDGE_FIRMATA_PIN', `${t.description}: ${deviceId}.${pointName} reads back ${readBack ? 'high' : 'low'} after writing ${level ? 'high' : 'low'}`);
    this.log.info({ device: deviceId, point: pointName, value: on }, 'point written');
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t = this.opts.transport;
      if (!t.isOpen && !this.connecting && this.now() >= this.reopenAt) {
        this.connecting = this.connect().finally(() => {
          this.connecting = undefined;
          if (this.starting) this.firstAttemptEnded();
          this.sleeper.wake();
        });
      }
      if (this.starting) {
        // Woken when the first attempt ends (bounded by handshakeTimeoutMs) or by stop().
        await this.sleeper.sleep(60_000);
        continue;
      }
      const next = this.boardDevices.reduce<BoardDevice | undefined>((a, d) => (!a || d.nextDue < a.nextDue ? d : a), undefined);
      const wakeAt = Math.min(next?.nextDue ?? Infinity, !t.isOpen && !this.connecting ? this.reopenAt : Infinity);
      const wait = wakeAt - this.now();
      if (wait > 0) {
        await this.sleeper.sleep(Number.isFinite(wait) ? wait : 60_000);
        continue;
      }
      if (next && next.nextDue <= this.now()) await this.poll(next);
    }
  }

  /** The board answered its first handshake, or the attempt failed: polls start, the devices 50 ms apart. */
  private firstAttemptEnded(): void {
    this.starting = false;
    const t0 = this.now();
    this.boardDevices.forEach((d, i) => (d.nextDue = t0 + Math.min(i * 50, d.device.pollIntervalMs)));
  }

  private async connect(): Promise<void> {
    const t = this.opts.transport;
    try {
      await t.open();
    } catch (err) {
      if (!this.running) return;
      this.openError = err instanceof FirmataError ? err : new FirmataError('EDGE_FIRMATA_PORT', String(err), { cause: err });
      this.openSince ??= this.now();
      const delay = this.backoff.next();
      this.reopenAt = this.now() + delay;
      this.log.warn({ port: t.description, err: this.openError.message, retryInMs: delay }, 'cannot connect to the board');
      return;
    }
    if (!this.running) return;
    this.session++;
    this.openError = undefined;
    this.openSince = undefined;
    this.backoff.reset();
    for (const d of this.boardDevices) {
      for (const problem of d.setup(t, (p) => this.levelOf(d.device.id, p))) this.log.warn({ device: d.device.id, err: problem.message }, 'pin not usable; its point is published bad');
    }
    this.log.info({ port: t.description, board: t.info }, 'board connected');
  }

  private levelOf(deviceId: string, p: FirmataPoint): boolean {
    return (this.desired.get(key(deviceId, p.name)) ?? p.initial === true) !== (p.invert === true);
  }

  private onLost(err: FirmataError): void {
    this.openError = err;
    this.openSince ??= this.now();
    this.reconnects++;
    this.reopenAt = this.now();
    this.log.warn({ port: this.opts.transport.description, err }, 'board connection lost; reconnecting');
    this.sleeper.wake();
  }

  /** One round trip proves the board answers: the read-back of the device's outputs, or a version query. */
  private async probe(device: BoardDevice): Promise<{ alive: FirmataError | undefined; outputs: Map<string, number> }> {
    const t = this.opts.transport;
    const outputs = new Map<string, number>();
    if (!t.isOpen) return { alive: this.openError ?? new FirmataError('EDGE_FIRMATA_PORT', `${t.description} is not connected`), outputs };
    try {
      const outs = device.servableOutputs();
      if (outs.length === 0) {
        this.transactions++;
        await t.ping(this.cfg.timeoutMs);
      }
      for (const p of outs) {
        this.transactions++;
        outputs.set(p.name, await t.queryPinState(p.pin, this.cfg.timeoutMs));
      }
      return { alive: undefined, outputs };
    } catch (err) {
      return { alive: err instanceof FirmataError ? err : new FirmataError('EDGE_FIRMATA_TIMEOUT', String(err), { cause: err }), outputs };
    }
  }

  private async poll(device: BoardDevice): Promise<void> {
    const started = this.now();
    const slip = Math.max(0, started - device.nextDue);
    device.stats.lastSlipMs = slip;
    device.stats.maxSlipMs = Math.max(device.stats.maxSlipMs, slip);
    const { alive, outputs } = await this.probe(device);
    const at = this.now();
    const staleAfterMs = 10 * this.cfg.samplingIntervalMs + this.cfg.timeoutMs;
    const result = device.read(this.opts.transport, { now: at, session: this.session, staleAfterMs, alive, outputs });
    const failingBefore = device.stats.consecutiveFailures > 0;
    const event = device.record(result.outcome, result.error, at, this.cfg.quarantineAfter, this.id);
    this.opts.sink.appendReadings(result.readings);
    if (event) {
      this.opts.sink.appendEvent(event);
      this.log.warn({ device: device.device.id, event: event.type, err: result.error }, event.message);
    }
    // A board that stops answering on an open link: open it again (a USB board resets on open).
    if (alive?.code === 'EDGE_FIRMATA_TIMEOUT' && device.stats.consecutiveFailures >= this.cfg.quarantineAfter && this.opts.transport.isOpen) {
      this.log.warn({ port: this.opts.transport.description }, 'board does not answer; reconnecting');
      this.reconnects++;
      await this.opts.transport.close().catch(() => undefined);
      this.reopenAt = this.now() + this.backoff.next();
    }
    this.opts.onPoll?.(device.device.id, result.outcome, this.now() - started, failingBefore);
    const interval = device.device.pollIntervalMs;
    let due = device.nextDue + interval;
    if (due <= at) due = at + interval - ((at - device.nextDue) % interval);
    device.nextDue = due;
  }
}

function key(deviceId: string, point: string): string {
  return `${deviceId}/${point}`;
}
