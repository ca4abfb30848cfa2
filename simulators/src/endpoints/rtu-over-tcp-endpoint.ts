import type { Logger } from 'pino';
import type { SimDevice } from '../devices/sim-device.js';
import type { Random } from '../random.js';
import { describeDevices, TcpListener, type Endpoint, type EndpointInfo } from './endpoint.js';
import { RtuLink } from './rtu-link.js';

export interface RtuOverTcpEndpointOptions {
  id: string;
  host: string;
  port: number;
  devices: readonly SimDevice[];
  gapMs: number;
  logger: Logger;
  random: Random;
}

/** RTU frames over a TCP socket, like an RS-485 serial device server in transparent mode. Each connection sees the whole bus. */
export class RtuOverTcpEndpoint implements Endpoint {
  readonly id: string;
  private readonly listener: TcpListener;
  private readonly links = new Set<RtuLink>();

  constructor(private readonly options: RtuOverTcpEndpointOptions) {
    this.id = options.id;
    this.listener = new TcpListener(
      options.host,
      options.port,
      (socket) => {
        const link = new RtuLink({
          devices: options.devices,
          gapMs: options.gapMs,
          write: (bytes) => {
            if (!socket.destroyed) socket.write(bytes);
          },
          logger: options.logger,
          random: options.random,
        });
        this.links.add(link);
        socket.on('data', (chunk: Buffer) => link.onData(chunk));
        socket.on('close', () => {
          link.close();
          this.links.delete(link);
        });
      },
      options.logger,
    );
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    for (const link of this.links) link.close();
    this.links.clear();
    await this.listener.stop();
  }

  info(): EndpointInfo {
    const addr = this.listener.address;
    return { id: this.id, transport: 'rtu-over-tcp', host: addr?.host ?? this.options.host, port: addr?.port ?? this.options.port, devices: describeDevices(this.options.devices) };
  }
}
