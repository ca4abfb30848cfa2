import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import type { SimDevice } from '../devices/sim-device.js';
import { SimError } from '../errors.js';
import type { Random } from '../random.js';
import { describeDevices, type Endpoint, type EndpointInfo } from './endpoint.js';
import { RtuLink } from './rtu-link.js';

export interface SerialEndpointOptions {
  id: string;
  /** Serial device, e.g. one end of a `socat -d -d pty,raw,echo=0 pty,raw,echo=0` pair. */
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  devices: readonly SimDevice[];
  gapMs: number;
  logger: Logger;
  random: Random;
}

/** Modbus RTU devices on a serial port (the slave side of an RS-485 bus). */
export class SerialEndpoint implements Endpoint {
  readonly id: string;
  private port: SerialPort | undefined;
  private link: RtuLink | undefined;

  constructor(private readonly options: SerialEndpointOptions) {
    this.id = options.id;
  }

  async start(): Promise<void> {
    const o = this.options;
    const port = new SerialPort({ path: o.path, baudRate: o.baudRate, parity: o.parity, dataBits: o.dataBits, stopBits: o.stopBits, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(new SimError('SIM_LISTEN', `cannot open serial port ${o.path}: ${err.message}`, { cause: err })) : resolve()));
    });
    const link = new RtuLink({
      devices: o.devices,
      gapMs: o.gapMs,
      write: (bytes) => {
        if (port.isOpen) port.write(bytes);
      },
      logger: o.logger,
      random: o.random,
    });
    port.on('data', (chunk: Buffer) => link.onData(chunk));
    port.on('error', (err) => o.logger.warn({ err: err.message }, 'serial port error'));
    this.port = port;
    this.link = link;
  }

  async stop(): Promise<void> {
    this.link?.close();
    this.link = undefined;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  info(): EndpointInfo {
    const o = this.options;
    return { id: this.id, transport: 'serial', path: o.path, baudRate: o.baudRate, devices: describeDevices(o.devices) };
  }
}
