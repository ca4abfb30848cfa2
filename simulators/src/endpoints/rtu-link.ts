import type { Logger } from 'pino';
import type { SimDevice } from '../devices/sim-device.js';
import { RtuRequestDecoder, type RtuRequest } from '../modbus/rtu-framer.js';
import type { Random } from '../random.js';
import { renderRtu } from './render.js';
import { ReplyQueue } from './reply-queue.js';
import { serveBroadcast, serveDevice } from './serve.js';

export interface RtuLinkOptions {
  devices: readonly SimDevice[];
  /** Silence after which a partial frame is dropped. */
  gapMs: number;
  write(bytes: Buffer): void;
  logger: Logger;
  random: Random;
}

/**
 * One RS-485 bus as seen from a byte stream (a serial port or a TCP socket of a device server):
 * finds request frames, lets the addressed device answer, applies broadcasts (unit 0) without a
 * reply, and ignores requests for unit ids no device on the bus has.
 */
export class RtuLink {
  private readonly decoder: RtuRequestDecoder;
  /** One queue per device: a device answers its own requests in order, but devices on a bus answer independently. */
  private readonly queues = new Map<number, ReplyQueue>();
  private readonly byUnit = new Map<number, SimDevice>();

  constructor(private readonly options: RtuLinkOptions) {
    this.decoder = new RtuRequestDecoder({ gapMs: options.gapMs });
    for (const d of options.devices) this.byUnit.set(d.unitId, d);
  }

  onData(chunk: Buffer): void {
    for (const frame of this.decoder.push(chunk)) this.handle(frame);
  }

  close(): void {
    for (const q of this.queues.values()) q.close();
    this.queues.clear();
  }

  private handle(frame: RtuRequest): void {
    if (frame.unitId === 0) {
      serveBroadcast(this.options.devices, frame.pdu, this.options.logger);
      return;
    }
    const device = this.byUnit.get(frame.unitId);
    if (!device) return;
    const reply = serveDevice(device, frame.pdu, this.options.logger);
    if (!reply) return;
    let queue = this.queues.get(frame.unitId);
    if (!queue) this.queues.set(frame.unitId, (queue = new ReplyQueue(this.options.write)));
    queue.push(renderRtu(frame.unitId, reply, this.options.random));
  }
}
