import mqtt, { type MqttClient } from 'mqtt';
import {
  Channel,
  encodeEvent,
  encodeEventsMessage,
  encodeReading,
  encodeStatus,
  encodeTelemetryMessage,
  topicFor,
  verifyCommand,
  type CommandResult,
  type EnrollResponse,
  type GatewayEvent,
  type Reading,
  type VerifiedCommand,
} from '@cityedge/contract';

/** A command as the fake gateway got it: the verification result and the raw payload. */
export interface ReceivedCommand {
  verified: VerifiedCommand;
  raw: unknown;
}

/**
 * A stand-in for a gateway in the registry's tests: a real MQTT client with the credentials the
 * registry issued at enrollment, its client id equal to its gateway id. It subscribes to its cmd
 * topic (before it says it is online, so a command published again at that moment reaches it),
 * verifies what arrives with the contract's verifyCommand and the registry's public keys, and
 * sends events (command answers included) with one gap-free seq per gateway, as the agent does.
 * It executes nothing: tests decide what it answers.
 */
export class FakeGateway {
  readonly received: ReceivedCommand[] = [];
  /** What it answers to each command it receives (all of it, in order); unset: it answers nothing. */
  responder: ((cmd: ReceivedCommand) => CommandResult[]) | undefined;
  /** Set when the broker (or the fake itself) closed the connection. */
  closed = false;
  private client: MqttClient | undefined;
  private seq = 0;
  private telemetrySeq = 0;

  constructor(
    readonly identity: EnrollResponse,
    private readonly opts: { protocolVersion?: 4 | 5; now?: () => number } = {},
  ) {}

  /** Enrolls with a one-time code over the registry's HTTP API. */
  static async enroll(registryUrl: string, code: string, opts: { protocolVersion?: 4 | 5; now?: () => number } = {}): Promise<FakeGateway> {
    const res = await fetch(`${registryUrl}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, hostname: 'fake-gateway' }) });
    if (res.status !== 200) throw new Error(`enrollment refused: ${res.status} ${await res.text()}`);
    return new FakeGateway((await res.json()) as EnrollResponse, opts);
  }

  get id(): string {
    return this.identity.gatewayId;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private topic(channel: Channel): string {
    return topicFor(this.id, channel, this.identity.mqtt.topicPrefix);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Connects (clean session, last will "offline"), subscribes to its cmd topic, then publishes "online". */
  async connect(brokerUrl = this.identity.mqtt.url): Promise<void> {
    const { username, password } = this.identity.mqtt;
    const client = await mqtt.connectAsync(brokerUrl, {
      username,
      password,
      clientId: this.id,
      protocolVersion: this.opts.protocolVersion ?? 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      will: { topic: this.topic(Channel.status), payload: Buffer.from(this.status('offline')), qos: 1, retain: true },
    });
    client.on('message', (topic, payload) => {
      if (topic !== this.topic(Channel.cmd)) return;
      let raw: unknown;
      try {
        raw = JSON.parse(payload.toString('utf8'));
      } catch {
        raw = payload.toString('utf8');
      }
      const cmd = { raw, verified: verifyCommand(raw, { gatewayId: this.id, publicKeysPem: this.identity.configPublicKeys, now: this.now() }) };
      this.received.push(cmd);
      const answers = this.responder?.(cmd) ?? [];
      void answers.reduce<Promise<unknown>>((p, r) => p.then(() => this.answer(r)), Promise.resolve()).catch(() => undefined);
    });
    client.on('close', () => (this.closed = true));
    this.closed = false;
    this.client = client;
    const [granted] = await client.subscribeAsync(this.topic(Channel.cmd), { qos: 1 });
    if (granted?.qos !== 1) throw new Error(`the broker refused the cmd subscription of ${this.id}`);
    await client.publishAsync(this.topic(Channel.status), this.status('online'), { qos: 1, retain: true });
  }

  private status(state: 'online' | 'offline'): string {
    return encodeStatus({ v: 1, gw: this.id, state, ts: this.now() });
  }

  /** Says goodbye as a stopping agent does: status offline, then disconnect. */
  async disconnect(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    await c.publishAsync(this.topic(Channel.status), this.status('offline'), { qos: 1, retain: true });
    await c.endAsync();
  }

  /** Sends events under the next seq; resolves with that seq once the broker took them. */
  async send(...events: GatewayEvent[]): Promise<number> {
    const seq = ++this.seq;
    await this.sendAt(seq, ...events);
    return seq;
  }

  /** Sends an events message under a given seq (a resend after a lost PUBACK uses the same one). */
  async sendAt(seq: number, ...events: GatewayEvent[]): Promise<void> {
    await this.publish(this.topic(Channel.events), encodeEventsMessage(this.id, seq, events.map(encodeEvent)));
  }

  /** Sends one telemetry message under the next telemetry seq; resolves once the broker took it. */
  async sendReadings(readings: readonly Reading[]): Promise<number> {
    const seq = ++this.telemetrySeq;
    await this.publish(this.topic(Channel.telemetry), encodeTelemetryMessage(this.id, seq, readings.map(encodeReading)));
    return seq;
  }

  /** Answers a command with a `command.*` event. */
  answer(result: CommandResult): Promise<number> {
    const bad = result.state === 'failed' || result.state === 'refused';
    return this.send({ type: `command.${result.state}`, ts: this.now(), severity: bad ? 'warning' : 'info', message: `command ${result.name} ${result.state}`, data: result as unknown as Record<string, unknown> });
  }

  /** Publishes anything under any topic; resolves with the PUBACK (a broker that drops the connection instead leaves it pending). */
  async publish(topic: string, payload: string): Promise<void> {
    if (!this.client) throw new Error(`${this.id} is not connected`);
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  /** Publishes without waiting for the broker (for ACL tests: a refused publish closes the connection). */
  attempt(topic: string, payload: string): void {
    this.client?.publish(topic, payload, { qos: 1 }, () => undefined);
  }

  /** The verified commands received so far. */
  commands(): Array<Extract<VerifiedCommand, { ok: true }>> {
    return this.received.map((r) => r.verified).filter((v): v is Extract<VerifiedCommand, { ok: true }> => v.ok);
  }
}
