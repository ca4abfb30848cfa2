import type net from 'node:net';
import type { Logger } from 'pino';
import type { SimDevice } from '../devices/sim-device.js';
import { encodeMbap, MbapDecoder, type MbapRequest } from '../modbus/mbap-framer.js';
import { exceptionPdu } from '../modbus/pdu.js';
import { EXCEPTION } from '../modbus/register-bank.js';
import type { Random } from '../random.js';
import { describeDevices, TcpListener, type Endpoint, type EndpointInfo } from './endpoint.js';
import { renderTcp } from './render.js';
import { ReplyQueue } from './reply-queue.js';
import { serveDevice } from './serve.js';

export interface TcpEndpointOptions {
  id: string;
  host: string;
  port: number;
  devices: readonly SimDevice[];
  /** A unit id no device has: 'exception' answers 0x0B (gateway target failed to respond), as a Modbus TCP gateway does; 'ignore' stays silent. */
  unknownUnit: 'exception' | 'ignore';
  logger: Logger;
  random: Random;
}

/**
 * Modbus TCP server hosting several devices by unit id, like a Modbus TCP gateway. With a
 * single device, unit 0 and 255 reach it too (Modbus TCP direct addressing).
 */
export class TcpEndpoint implements Endpoint {
  readonly id: string;
  private readonly byUnit = new Map<number, SimDevice>();
  private readonly listener: TcpListener;
  private readonly queues = new Set<ReplyQueue>();

  constructor(private readonly options: TcpEndpointOptions) {
    this.id = options.id;
    for (const d of options.devices) this.byUnit.set(d.unitId, d);
    this.listener = new TcpListener(options.host, options.port, (socket) => this.attach(socket), options.logger);
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    for (const q of this.queues) q.close();
    this.queues.clear();
    await this.listener.stop();
  }

  info(): EndpointInfo {
    const addr = this.listener.address;
    return { id: this.id, transport: 'tcp', host: addr?.host ?? this.options.host, port: addr?.port ?? this.options.port, devices: describeDevices(this.options.devices) };
  }

  private attach(socket: net.Socket): void {
    const decoder = new MbapDecoder();
    const queue = new ReplyQueue((bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    });
    this.queues.add(queue);
    socket.on('close', () => {
      queue.close();
      this.queues.delete(queue);
    });
    socket.on('data', (chunk: Buffer) => {
      const { frames, malformed } = decoder.push(chunk);
      for (const frame of frames) this.handle(frame, queue);
      if (malformed) {
        this.options.logger.warn({ remote: socket.remoteAddress }, 'malformed MBAP header; closing the connection');
        socket.destroy();
      }
    });
  }

  private resolve(unitId: number): SimDevice | undefined {
    const device = this.byUnit.get(unitId);
    if (device) return device;
    const only = this.options.devices.length === 1 ? this.options.devices[0] : undefined;
    return only && (unitId === 0 || unitId === 255) ? only : undefined;
  }

  private handle(frame: MbapRequest, queue: ReplyQueue): void {
    const device = this.resolve(frame.unitId);
    if (!device) {
      this.options.logger.debug({ unitId: frame.unitId }, 'request for an unknown unit');
      if (this.options.unknownUnit === 'exception') {
        const pdu = exceptionPdu(frame.pdu[0] ?? 0, EXCEPTION.GATEWAY_TARGET_FAILED);
        queue.push({ bytes: encodeMbap(frame.transactionId, frame.unitId, pdu), delayMs: 0 });
      }
      return;
    }
    const reply = serveDevice(device, frame.pdu, this.options.logger);
    if (reply) queue.push(renderTcp(frame.transactionId, frame.unitId, reply, this.options.random));
  }
}
