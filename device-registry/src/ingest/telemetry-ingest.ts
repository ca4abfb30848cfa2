import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { allGateways, Channel, DEFAULT_TOPIC_PREFIX, parseTopic } from '@cityedge/contract';
import { BrokerError } from '../broker/errors.js';
import { openMqtt, type MqttConnection } from '../broker/mqtt-connection.js';
import { parsePayload, TelemetryMessageSchema } from './payloads.js';
import type { TelemetrySink } from './ports.js';

export interface TelemetryIngestOptions {
  /** Service or consumer account; the client id must be stable so the broker keeps its session across a crash. */
  connection: MqttConnection & { clientId: string };
  sink: TelemetrySink;
  logger: Logger;
  prefix?: string;
  /**
   * Shared-subscription group: subscribe `$share/<group>/{prefix}/+/telemetry` so several ingest
   * processes split the stream (Mosquitto, EMQX). Leave unset on the embedded broker: aedes has
   * no shared subscriptions and the embedded broker refuses `$share`.
   */
  sharedGroup?: string;
  /** MQTT 5: how long the broker keeps the session and unacknowledged messages after a disconnect (default 1 h). */
  sessionExpirySec?: number;
  /** Retry a failing insert with a doubling delay between these bounds (default 200 ms .. 5 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Larger payloads count as malformed (default 1 MiB). */
  maxPayloadBytes?: number;
}

export interface TelemetryIngestStats {
  /** Telemetry messages received (duplicates included). */
  received: number;
  /** Messages stored for the first time. */
  stored: number;
  /** Readings in the stored messages. */
  readings: number;
  /** Messages whose (gw, seq) was stored before: MQTT redeliveries. */
  duplicates: number;
  /** Not JSON, wrong shape or too large. */
  malformed: number;
  /** Payload `gw` differs from the topic's gateway id. */
  mismatched: number;
  /** Failed insert attempts (each retried). */
  sinkErrors: number;
}

/**
 * The central telemetry consumer. Subscribes at QoS 1 to `{prefix}/+/telemetry` (shared when a
 * group is set), checks each TelemetryMessage, and stores it through the TelemetrySink, which
 * drops duplicates by (gw, seq). The PUBACK goes out only after the insert committed: a crash
 * before that leaves the message unacknowledged in the broker's session, which redelivers it to
 * the restarted consumer (or, shared, to another member of the group). Malformed and mismatched
 * messages are acknowledged and dropped so they cannot block the stream. While the store is
 * down the insert is retried; meanwhile no further message is taken (MQTT.js handles incoming
 * packets one at a time), so the broker holds the backlog.
 */
export class TelemetryIngest {
  private client: MqttClient | undefined;
  private generation = 0;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly counters: TelemetryIngestStats = { received: 0, stored: 0, readings: 0, duplicates: 0, malformed: 0, mismatched: 0, sinkErrors: 0 };

  constructor(private readonly opts: TelemetryIngestOptions) {
    this.log = opts.logger.child({ module: 'telemetry-ingest', clientId: opts.connection.clientId });
    this.prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
  }

  get filter(): string {
    const f = allGateways(Channel.telemetry, this.prefix);
    return this.opts.sharedGroup ? `$share/${this.opts.sharedGroup}/${f}` : f;
  }

  stats(): TelemetryIngestStats {
    return { ...this.counters };
  }

  async start(): Promise<void> {
    if (this.client) return;
    const group = this.opts.sharedGroup;
    if (group !== undefined && !/^[^/+#]+$/.test(group)) throw new BrokerError('REG_BROKER_CONFIG', `shared-subscription group "${group}" must be non-empty without "/", "+" or "#"`);
    this.stopping = false;
    const v5 = (this.opts.connection.protocolVersion ?? 5) === 5;
    const options: IClientOptions = {
      clean: false,
      ...(v5 ? { properties: { sessionExpiryInterval: this.opts.sessionExpirySec ?? 3600 } } : {}),
    };
    // MQTT.js calls handleMessage for every incoming PUBLISH and sends the PUBACK when its callback
    // runs (customHandleAcks works for MQTT 5 only): the callback runs after the insert.
    const prepare = (client: MqttClient): void => {
      client.on('close', () => this.generation++);
      client.handleMessage = (packet, callback) => {
        const gen = this.generation;
        this.process(packet.topic, packet.payload as Buffer).then(
          () => {
            // After a reconnect the broker redelivers the message anyway: acking here could hit another packet.
            if (gen === this.generation && !this.stopping) callback();
          },
          (err: unknown) => this.log.debug({ err: (err as Error).message, topic: packet.topic }, 'message left unacknowledged'),
        );
      };
    };
    const client = await openMqtt(this.opts.connection, { logger: this.log, role: 'ingest', options, prepare });
    try {
      await client.subscribeAsync(this.filter, { qos: 1 });
    } catch (err) {
      await client.endAsync(true);
      throw new BrokerError('REG_BROKER_DENIED', `broker refused the telemetry subscription ${this.filter}: ${(err as Error).message}`, { cause: err });
    }
    this.client = client;
    this.log.info({ filter: this.filter }, 'telemetry ingest subscribed');
  }

  /** Stops without acknowledging a message whose insert has not finished (it is redelivered). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const c = this.client;
    this.client = undefined;
    await c?.endAsync(true);
  }

  private async process(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(topic, this.prefix);
    if (!t || t.channel !== Channel.telemetry) return;
    this.counters.received++;
    const r = parsePayload(TelemetryMessageSchema, payload, this.opts.maxPayloadBytes ?? 1024 * 1024);
    if (!r.ok) {
      this.counters.malformed++;
      this.log.warn({ topic, problem: r.problem }, 'malformed telemetry dropped');
      return;
    }
    const msg = r.value;
    if (msg.gw !== t.gatewayId) {
      this.counters.mismatched++;
      this.log.warn({ topic, payloadGw: msg.gw }, 'telemetry names another gateway than its topic; dropped');
      return;
    }
    let delay = this.opts.retryMinMs ?? 200;
    for (;;) {
      if (this.stopping) throw new Error('ingest stopping');
      try {
        const fresh = await this.opts.sink.insertTelemetryBatch(msg.gw, msg.seq, msg.readings);
        if (fresh) {
          this.counters.stored++;
          this.counters.readings += msg.readings.length;
        } else {
          this.counters.duplicates++;
        }
        return;
      } catch (err) {
        this.counters.sinkErrors++;
        this.log.error({ err: (err as Error).message, gw: msg.gw, seq: msg.seq, retryInMs: delay }, 'storing telemetry failed; retrying');
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.opts.retryMaxMs ?? 5000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
