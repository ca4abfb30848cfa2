import net from 'node:net';
import type { Logger } from 'pino';
import { SimError } from '../errors.js';
import type { SimDevice } from '../devices/sim-device.js';

export type Transport = 'tcp' | 'rtu-over-tcp' | 'serial';

/** Where an endpoint can be reached once started. */
export interface EndpointInfo {
  id: string;
  transport: Transport;
  /** Bound address for tcp and rtu-over-tcp. */
  host?: string;
  /** Bound port (the real one when 0 was asked for). */
  port?: number;
  /** Serial port path for serial. */
  path?: string;
  baudRate?: number;
  devices: Array<{ id: string; model: string; unitId: number }>;
}

export interface Endpoint {
  readonly id: string;
  start(): Promise<void>;
  /** Closes every socket or port; safe to call twice. */
  stop(): Promise<void>;
  info(): EndpointInfo;
}

export function describeDevices(devices: readonly SimDevice[]): EndpointInfo['devices'] {
  return devices.map((d) => ({ id: d.id, model: d.model, unitId: d.unitId }));
}

/**
 * A TCP listener that tracks its sockets so stop() can close them all (server.close alone waits
 * for clients to hang up).
 */
export class TcpListener {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private bound: { host: string; port: number } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly onSocket: (socket: net.Socket) => void,
    private readonly logger: Logger,
  ) {}

  get address(): { host: string; port: number } | undefined {
    return this.bound;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', (err) => this.logger.debug({ err: err.message }, 'client socket error'));
      this.logger.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'client connected');
      this.onSocket(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new SimError('SIM_LISTEN', `cannot listen on ${this.host}:${this.port}: ${err.message}`, { cause: err })));
      server.listen(this.port, this.host, () => resolve());
    });
    server.on('error', (err) => this.logger.error({ err }, 'server error'));
    const addr = server.address() as net.AddressInfo;
    this.bound = { host: addr.address, port: addr.port };
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
