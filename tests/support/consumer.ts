import mqtt, { type MqttClient } from 'mqtt';
import { parseTopic, type EventsMessage, type GatewayEvent, type Reading, type TelemetryMessage } from '@cityedge/contract';

/**
 * A central-system consumer as the telemetry contract describes it: subscribes to every
 * gateway, drops duplicates by (gw, seq) and checks that sequences have no gaps.
 */
export class TelemetryConsumer {
  private client: MqttClient | undefined;
  readonly seen = new Map<string, Set<number>>();
  readonly readings: Reading[] = [];
  readonly events: GatewayEvent[] = [];
  /** Messages in arrival order: [gw, seq, topic channel]. */
  readonly arrivals: Array<{ gw: string; seq: number; channel: string }> = [];
  duplicates = 0;
  /** Completed subscriptions, one per (re)connection. */
  subscriptions = 0;
  readonly statuses: unknown[] = [];

  constructor(
    private readonly url: string,
    private readonly prefix = 'edge/v1',
    /** A consumer account (the registry's broker binds client ids to `<account>-...`). */
    private readonly account?: { username: string; password: string },
  ) {}

  async start(): Promise<void> {
    const id = `${this.account?.username ?? 'consumer'}-${process.pid}-${Math.random().toString(16).slice(2)}`;
    const client = mqtt.connect(this.url, { clientId: id, reconnectPeriod: 200, protocolVersion: 4, ...this.account });
    this.client = client;
    client.on('error', () => undefined);
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    const filters = [`${this.prefix}/+/telemetry`, `${this.prefix}/+/events`, `${this.prefix}/+/status`];
    // Subscribe on every connection: after a broker restart the session is new.
    client.on('connect', () => {
      client.subscribeAsync(filters, { qos: 1 }).then(
        () => this.subscriptions++,
        () => undefined,
      );
    });
    await this.waitFor(() => this.subscriptions > 0, 10_000, 'the consumer to subscribe');
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseTopic(topic, this.prefix);
    if (!t) return;
    const body = JSON.parse(payload.toString()) as TelemetryMessage | EventsMessage | { state: string };
    if (t.channel === 'status') {
      this.statuses.push(body);
      return;
    }
    const msg = body as TelemetryMessage | EventsMessage;
    let set = this.seen.get(msg.gw);
    if (!set) this.seen.set(msg.gw, (set = new Set()));
    this.arrivals.push({ gw: msg.gw, seq: msg.seq, channel: t.channel });
    if (set.has(msg.seq)) {
      this.duplicates++;
      return;
    }
    set.add(msg.seq);
    if ('readings' in msg) this.readings.push(...msg.readings);
    else this.events.push(...msg.events);
  }

  /** Sequence numbers missing between 1 and the highest seen, per gateway. */
  gaps(gw: string): number[] {
    const set = this.seen.get(gw) ?? new Set<number>();
    const max = Math.max(0, ...set);
    const missing: number[] = [];
    for (let s = 1; s <= max; s++) if (!set.has(s)) missing.push(s);
    return missing;
  }

  async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
