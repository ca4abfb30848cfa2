import type { Logger } from 'pino';
import { Channel, type CamerasConfig, type ResolvedConfig, type ResolvedLine } from '@cityedge/contract';
import { createBoardTransport, createTransport, type BoardTransport, type ModbusTransport } from '@cityedge/drivers';
import type { FirmataLineConfig, ResolvedFirmataLine } from '@cityedge/contract';
import { FirmataLine } from '../firmata/firmata-line.js';
import { LineScheduler, type LineStats } from '../poll/line-scheduler.js';
import type { CameraProber } from '../camera/camera-prober.js';
import type { ReadingSink } from '../poll/device-poller.js';
import type { ChangePlan } from './change-plan.js';
import type { DeviceDirectory } from './device-directory.js';
import type { Source } from './source.js';

export interface SourceSetOptions {
  gatewayId: string;
  sink: ReadingSink;
  directory: DeviceDirectory;
  logger: Logger;
  now: () => number;
  /** Builds a line's transport; tests and the benchmark may pass their own. */
  transportFactory?: ((line: ResolvedLine['config']) => ModbusTransport) | undefined;
  /** Builds a Firmata board's transport; default createBoardTransport. */
  boardTransportFactory?: ((line: FirmataLineConfig) => BoardTransport) | undefined;
  random?: (() => number) | undefined;
  /** Retained camera state and thumbnails go through the MQTT session. */
  retain: (channel: Channel, payload: string) => void;
  /** Called after every poll of any line. */
  onPoll: (line: string, device: string, outcome: 'ok' | 'partial' | 'failed', ms: number, failingBefore: boolean) => void;
}

/**
 * Every source of readings on the gateway: one scheduler per Modbus line and the camera prober
 * (Firmata boards join as sources too). Built from the configuration, changed by a change plan
 * (lines added, removed, rebuilt for a new endpoint or updated in place), and kept in the device
 * directory so commands and rules find a device's source.
 */
export class SourceSet {
  readonly name = 'sources';
  private readonly opts: SourceSetOptions;
  private lines: LineScheduler[] = [];
  private boards: FirmataLine[] = [];
  private cameraProber: CameraProber | undefined;
  private running = false;

  constructor(opts: SourceSetOptions) {
    this.opts = opts;
  }

  /** Builds the sources of a configuration (before start). */
  async build(resolved: ResolvedConfig): Promise<void> {
    this.lines = resolved.lines.map((l) => this.buildLine(l));
    this.boards = resolved.firmataLines.map((l) => this.buildBoard(l));
    this.cameraProber = await this.buildCameras(resolved.config.cameras);
    this.reindex();
  }

  start(): void {
    this.running = true;
    this.cameraProber?.start();
    for (const l of this.lines) l.start();
    for (const b of this.boards) b.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.cameraProber?.stop();
    await Promise.all([...this.lines.map((l) => l.stop()), ...this.boards.map((b) => b.stop())]);
  }

  /** Applies the line and camera parts of a plan; returns how many lines were (re)built. */
  async apply(plan: ChangePlan, next: ResolvedConfig): Promise<number> {
    const { lines } = plan;
    const going = new Set([...lines.remove, ...lines.rebuild.map((l) => l.config.id)]);
    await Promise.all(this.lines.filter((l) => going.has(l.id)).map((l) => l.stop()));
    const fresh = [...lines.rebuild, ...lines.add].map((l) => this.buildLine(l));
    const updates = new Map(lines.update.map((u) => [u.line.config.id, u.line]));
    const kept = this.lines.filter((l) => !going.has(l.id));
    for (const l of kept) {
      const line = updates.get(l.id);
      if (line) l.reconfigure(line);
    }
    // in the configuration's order
    const byId = new Map([...kept, ...fresh].map((l) => [l.id, l]));
    this.lines = next.lines.map((l) => byId.get(l.config.id)).filter((l): l is LineScheduler => l !== undefined);
    const goneBoards = new Set([...plan.boards.remove, ...plan.boards.rebuild.map((b) => b.config.id)]);
    await Promise.all(this.boards.filter((b) => goneBoards.has(b.id)).map((b) => b.stop()));
    const freshBoards = [...plan.boards.rebuild, ...plan.boards.add].map((b) => this.buildBoard(b));
    const boardsById = new Map([...this.boards.filter((b) => !goneBoards.has(b.id)), ...freshBoards].map((b) => [b.id, b]));
    this.boards = next.firmataLines.map((b) => boardsById.get(b.config.id)).filter((b): b is FirmataLine => b !== undefined);
    if (this.running) for (const b of freshBoards) b.start();
    if (plan.cameras === 'rebuild') {
      await this.cameraProber?.stop();
      this.cameraProber = await this.buildCameras(next.config.cameras);
      if (this.running) this.cameraProber?.start();
    }
    if (this.running) for (const l of fresh) l.start();
    this.reindex();
    return fresh.length + freshBoards.length;
  }

  modbusLines(): readonly LineScheduler[] {
    return this.lines;
  }

  line(id: string): LineScheduler | undefined {
    return this.lines.find((l) => l.id === id);
  }

  get cameras(): CameraProber | undefined {
    return this.cameraProber;
  }

  firmataBoards(): readonly FirmataLine[] {
    return this.boards;
  }

  /** Every line's health: Modbus lines and Firmata boards alike. */
  lineStats(): LineStats[] {
    return [...this.lines.map((l) => l.stats()), ...this.boards.map((b) => b.stats())];
  }

  private reindex(): void {
    const all: Source[] = [...this.lines, ...this.boards];
    this.opts.directory.rebuild(all.map((source) => ({ source, devices: source.devices() })));
  }

  private buildBoard(line: ResolvedFirmataLine<FirmataLineConfig>): FirmataLine {
    const factory = this.opts.boardTransportFactory ?? ((c: FirmataLineConfig) => createBoardTransport(c, { now: this.opts.now }));
    return new FirmataLine({
      line,
      transport: factory(line.config),
      sink: this.opts.sink,
      logger: this.opts.logger,
      now: this.opts.now,
      ...(this.opts.random && { random: this.opts.random }),
      onPoll: (device, outcome, ms, failingBefore) => this.opts.onPoll(line.config.id, device, outcome, ms, failingBefore),
    });
  }

  private buildLine(line: ResolvedLine): LineScheduler {
    const factory = this.opts.transportFactory ?? ((c: ResolvedLine['config']) => createTransport(c));
    return new LineScheduler({
      line,
      transport: factory(line.config),
      transportFactory: factory,
      sink: this.opts.sink,
      logger: this.opts.logger,
      now: this.opts.now,
      onPoll: (device, outcome, ms, failingBefore) => this.opts.onPoll(line.config.id, device, outcome, ms, failingBefore),
    });
  }

  /**
   * Camera probing runs beside polling: its own concurrency limit and timeouts, never on the
   * lines. Its code (ONVIF, XML, JPEG) is loaded only when the gateway has cameras: a gateway
   * without any keeps that memory.
   */
  private async buildCameras(c: CamerasConfig): Promise<CameraProber | undefined> {
    if (!c.enabled || (c.devices.length === 0 && !c.discovery.enabled)) return undefined;
    const { CameraProber } = await import('../camera/camera-prober.js');
    return new CameraProber({
      config: c,
      gatewayId: this.opts.gatewayId,
      now: this.opts.now,
      logger: this.opts.logger.child({ module: 'cameras' }),
      appendEvent: (e) => this.opts.sink.appendEvent(e),
      publishStatus: (p) => this.opts.retain(Channel.cameras, p),
      publishThumbnail: (p) => this.opts.retain(Channel.cameraThumbnail, p),
    });
  }
}
