import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface LeanConnectOptions {
  /** mqtt://host:port */
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** Seconds; a PINGREQ goes out after this long without a packet sent. */
  keepalive: number;
  /** No CONNACK within this long: the attempt fails. */
  connectTimeoutMs: number;
  /** false: a persistent session (the broker keeps the subscription and what is queued for it); default true. */
  clean?: boolean;
  /**
   * Each PUBLISH received (after its PUBACK is sent); given here because a persistent session's
   * queued messages may arrive in the same read as the CONNACK.
   */
  onMessage?: (topic: string, payload: Buffer) => void;
}

/** A CONNACK other than 0 (MQTT 3.1.1 return codes: 4 bad credentials, 5 not authorised). */
export class ConnackError extends Error {
  constructor(readonly returnCode: number) {
    super(`connection refused by the broker: CONNACK return code ${returnCode}`);
  }
}

const PROTOCOL = { protocolId: 'MQTT', protocolVersion: 4 } as const;

/**
 * The province load's simulated gateway connection (bench only): one MQTT 3.1.1 session on a raw
 * TCP socket, encoded and parsed by `mqtt-packet`, with just what a gateway does: CONNECT (clean
 * or persistent session), SUBSCRIBE QoS 1, PUBLISH QoS 1 resolved on its PUBACK, PUBACK of what it receives,
 * PINGREQ on keepalive. No queue, no reconnect: when the socket closes every PUBLISH still
 * awaiting its PUBACK is rejected and `onClose` runs; the caller decides what comes next. MQTT.js
 * costs ~195 KiB and noticeable CPU per client, too much for 10,000 gateways in a few processes.
 */
export class LeanMqtt {
  onMessage: (topic: string, payload: Buffer) => void = () => undefined;
  /** Called once when the session ends, for whatever reason. */
  onClose: (err?: Error) => void = () => undefined;
  /** Packet id -> the SUBSCRIBE or PUBLISH awaiting its SUBACK (granted QoS) or PUBACK. */
  private readonly pending = new Map<number, { resolve: (granted: number) => void; reject: (err: Error) => void }>();
  private nextId = 0;
  private pinger: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly keepaliveMs: number,
  ) {}

  /** Opens the socket, sends CONNECT and resolves on CONNACK 0 (rejects on any other, a timeout or a socket error). */
  static connect(o: LeanConnectOptions): Promise<LeanMqtt> {
    const u = new URL(o.url);
    if (u.protocol !== 'mqtt:') throw new Error(`lean MQTT client: expected an mqtt:// URL, got "${o.url}"`);
    return new Promise((resolve, reject) => {
      const socket = tcpConnect(Number(u.port || 1883), u.hostname);
      socket.setNoDelay(true);
      const client = new LeanMqtt(socket, o.keepalive * 1000);
      if (o.onMessage) client.onMessage = o.onMessage;
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`no CONNACK from ${o.url} within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
      const parser = mqttPacket.parser(PROTOCOL);
      let connected = false;
      parser.on('packet', (p: Packet) => {
        if (connected) return client.handle(p);
        if (p.cmd !== 'connack') return fail(new Error(`expected CONNACK, got ${p.cmd}`));
        if (p.returnCode !== 0) return fail(new ConnackError(p.returnCode ?? -1));
        connected = true;
        clearTimeout(timer);
        client.armPing();
        resolve(client);
      });
      parser.on('error', (err: Error) => (connected ? client.end(err) : fail(err)));
      socket.on('data', (d: Buffer) => parser.parse(d));
      socket.on('error', (err) => (connected ? client.end(err) : fail(err)));
      socket.on('close', () => (connected ? client.end(new Error('connection closed')) : fail(new Error(`connection to ${o.url} closed before CONNACK`))));
      socket.on('connect', () =>
        client.send({
          cmd: 'connect',
          ...PROTOCOL,
          clientId: o.clientId,
          clean: o.clean ?? true,
          keepalive: o.keepalive,
          ...(o.username !== undefined && { username: o.username }),
          ...(o.password !== undefined && { password: Buffer.from(o.password) }),
        }),
      );
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** SUBSCRIBE at QoS 1; resolves with the granted QoS (128: refused). */
  subscribe(topic: string): Promise<number> {
    const messageId = this.messageId();
    return new Promise((resolve, reject) => {
      this.pending.set(messageId, { resolve, reject });
      this.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos: 1 }] });
    });
  }

  /** PUBLISH at QoS 1; resolves on its PUBACK, rejects if the session ends first. */
  publish(topic: string, payload: Buffer | string): Promise<void> {
    const messageId = this.messageId();
    return new Promise((resolve, reject) => {
      this.pending.set(messageId, { resolve: () => resolve(), reject });
      this.send({ cmd: 'publish', messageId, topic, payload, qos: 1, dup: false, retain: false });
    });
  }

  /** Ends the session (a DISCONNECT first when `graceful`); pending PUBLISHes are rejected. */
  end(err?: Error, graceful = false): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pinger);
    if (graceful) this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    else this.socket.destroy();
    const reason = err ?? new Error('session ended');
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    this.onClose(err);
  }

  private handle(p: Packet): void {
    switch (p.cmd) {
      case 'puback':
        return this.settle(p.messageId, 0);
      case 'suback':
        return this.settle(p.messageId, Number(p.granted[0] ?? 128));
      case 'publish':
        if (p.qos > 0) this.send({ cmd: 'puback', messageId: p.messageId! });
        return this.onMessage(p.topic, Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload));
      case 'pingresp':
        return;
      default:
        this.end(new Error(`unexpected ${p.cmd} from the broker`));
    }
  }

  private settle(messageId: number | undefined, granted: number): void {
    const p = messageId === undefined ? undefined : this.pending.get(messageId);
    if (!p) return;
    this.pending.delete(messageId!);
    p.resolve(granted);
  }

  /** 1..65535, skipping ids still awaiting an answer. */
  private messageId(): number {
    do this.nextId = (this.nextId % 65535) + 1;
    while (this.pending.has(this.nextId));
    return this.nextId;
  }

  private send(p: Packet): void {
    if (this.closed) return;
    this.socket.write(mqttPacket.generate(p));
    this.armPing();
  }

  /** Keepalive: a PINGREQ after keepalive seconds without anything sent. */
  private armPing(): void {
    if (this.keepaliveMs <= 0 || this.closed) return;
    clearTimeout(this.pinger);
    this.pinger = setTimeout(() => this.send({ cmd: 'pingreq' }), this.keepaliveMs);
  }
}
