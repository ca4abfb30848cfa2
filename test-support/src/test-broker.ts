import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';

export interface ReceivedMessage {
  topic: string;
  payload: string;
  retain: boolean;
  /** Client that published it; undefined for a last will the broker published. */
  clientId: string | undefined;
}

/**
 * An aedes broker on 127.0.0.1 for tests, over real TCP (the one broker helper of every test). `received` records every client publish
 * at authorization time (before the broker's PUBACK), `published` everything the broker routes
 * (including last wills). `stop()` drops all connections like a crash; `start()` listens again on
 * the same port with a fresh broker (no retained messages or sessions survive).
 */
export class TestBroker {
  broker: Aedes | undefined;
  port = 0;
  readonly received: ReceivedMessage[] = [];
  readonly published: ReceivedMessage[] = [];
  /** Set to make authorizePublish refuse (aedes then closes the connection: MQTT 3.1.1 has no reason codes). */
  refusePublish: ((topic: string) => boolean) | undefined;
  /** Set to make authentication fail. */
  refuseConnect = false;
  connectAttempts = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** aedes options (an `authenticate` of the test's own), and `setup` to wire the broker before it listens. */
  constructor(private readonly options: AedesOptions & { setup?: (broker: Aedes) => void } = {}) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const { setup: _setup, ...aedesOptions } = this.options;
    const broker = await Aedes.createBroker({
      ...aedesOptions,
      authenticate: (client, username, password, done) => {
        this.connectAttempts++;
        if (this.refuseConnect) {
          done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
          return;
        }
        if (this.options.authenticate) this.options.authenticate(client, username, password, done);
        else done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        const topic = packet.topic;
        if (this.refusePublish?.(topic)) {
          done(new Error('not authorized'));
          return;
        }
        this.received.push({ topic, payload: packet.payload.toString(), retain: packet.retain, clientId: client?.id });
        done(null);
      },
    });
    this.options.setup?.(broker);
    broker.on('publish', (packet, client) => {
      if (packet.topic.startsWith('$SYS')) return;
      this.published.push({ topic: packet.topic, payload: packet.payload.toString(), retain: packet.retain, clientId: client?.id });
    });
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.broker = broker;
    this.server = server;
    return this;
  }

  /** Destroys the sockets of a connected client, like a network failure (the broker publishes its will). */
  dropClient(clientId: string): void {
    const client = (this.broker as unknown as { clients?: Record<string, { conn: { destroy(): void } }> } | undefined)?.clients?.[clientId];
    client?.conn.destroy();
  }

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}
