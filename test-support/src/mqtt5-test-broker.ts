import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { generate, parser, type Packet } from 'mqtt-packet';

/**
 * A minimal MQTT 5 server over real TCP for what aedes (MQTT 3.1.1 only) cannot do: answer a
 * PUBLISH with a PUBACK reason code. It accepts every CONNECT, records publishes and acknowledges
 * them with `pubackReasonCode(topic)` (0 = success). No routing, no sessions.
 */
export class Mqtt5TestBroker {
  port = 0;
  readonly received: Array<{ topic: string; payload: string; reasonCode: number }> = [];
  pubackReasonCode: (topic: string) => number = () => 0;
  connects = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const p = parser({ protocolVersion: 5 });
    const send = (packet: Packet) => socket.write(generate(packet, { protocolVersion: 5 }));
    p.on('error', () => socket.destroy());
    p.on('packet', (packet: Packet) => {
      switch (packet.cmd) {
        case 'connect':
          this.connects++;
          send({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
          break;
        case 'publish': {
          const reasonCode = this.pubackReasonCode(packet.topic);
          this.received.push({ topic: packet.topic, payload: packet.payload.toString(), reasonCode });
          if (packet.qos === 1) send({ cmd: 'puback', messageId: packet.messageId, reasonCode });
          break;
        }
        case 'pingreq':
          send({ cmd: 'pingresp' });
          break;
        case 'disconnect':
          socket.end();
          break;
        default:
          break;
      }
    });
    socket.on('data', (chunk: Buffer) => p.parse(chunk));
  }
}
