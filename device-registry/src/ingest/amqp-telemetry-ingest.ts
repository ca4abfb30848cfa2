import amqp from 'amqplib';
import type { Logger } from 'pino';
import { Channel, TelemetryMessage } from '@cityedge/contract';
import { INGEST_QUEUE, MQTT_EXCHANGE, routingKeyToTopic, topicToRoutingKey } from '../broker/rabbitmq-topology.js';
import type { TelemetrySink } from './ports.js';
import { checkSequenced } from './sequenced-ingest.js';
import type { TelemetryIngestStats } from './telemetry-ingest.js';

/** The telemetry-only quorum queue the AMQP ingest workers share (declared with its bindings in rabbitmq-topology.ts). */
export const TELEMETRY_QUEUE = INGEST_QUEUE;

export interface AmqpTelemetryIngestOptions {
  /** amqp:// URLs of the cluster's nodes, credentials included; tried in turn. */
  urls: string[];
  sink: TelemetrySink;
  logger: Logger;
  prefix: string;
  queue?: string;
  /** Unacknowledged messages this worker holds at once, stored concurrently (default 16). */
  prefetch?: number;
  /** Retry a failing insert with a doubling delay between these bounds (default 200 ms .. 5 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * A telemetry ingest worker on a RabbitMQ cluster: consumes one replicated quorum queue bound to
 * `amq.topic` for `{prefix}.*.telemetry` (the MQTT plugin's routing of `{prefix}/+/telemetry`)
 * competitively with the other workers, stores each message once by (gateway, seq) and acks it
 * only after the commit. A worker that dies leaves its unacknowledged messages to the queue, which
 * hands them to another worker; a node that dies is replaced by the next URL. Because the queue
 * is one of the queues a gateway's publish is routed to, the MQTT plugin's PUBACK waits for its
 * quorum too.
 */
export class AmqpTelemetryIngest {
  private conn: amqp.ChannelModel | undefined;
  private stopping = false;
  private next = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readings = 0;
  private readonly counters = { received: 0, stored: 0, duplicates: 0, malformed: 0, mismatched: 0, sinkErrors: 0 };
  readonly queue: string;

  constructor(private readonly o: AmqpTelemetryIngestOptions) {
    this.queue = o.queue ?? TELEMETRY_QUEUE;
  }

  stats(): TelemetryIngestStats {
    return { ...this.counters, readings: this.readings };
  }

  /** Connects to the first node that answers (each in turn) and starts consuming. */
  async start(): Promise<void> {
    let last: unknown;
    for (let i = 0; i < this.o.urls.length; i++) {
      const url = this.o.urls[this.next++ % this.o.urls.length]!;
      try {
        await this.consume(url);
        return;
      } catch (err) {
        last = err;
        this.o.logger.warn({ err: (err as Error).message, node: redact(url) }, 'AMQP node not usable; trying the next');
      }
    }
    throw new Error(`no AMQP node of ${this.o.urls.map(redact).join(', ')} usable: ${(last as Error)?.message}`);
  }

  private async consume(url: string): Promise<void> {
    const conn = await amqp.connect(url);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(this.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(this.queue, MQTT_EXCHANGE, topicToRoutingKey(`${this.o.prefix}/+/${Channel.telemetry}`));
      await ch.prefetch(this.o.prefetch ?? 16);
      await ch.consume(this.queue, (m) => {
        if (!m) {
          // The server cancelled the consumer (the queue moved or was deleted): start over.
          this.o.logger.warn({ queue: this.queue }, 'AMQP consumer cancelled by the broker; reconnecting');
          void conn.close().catch(() => undefined);
          return;
        }
        const p = this.handle(m).then(
          () => ch.ack(m),
          () => undefined, // stopping or the channel is gone: the queue redelivers it
        );
        const tracked = p.finally(() => this.inFlight.delete(tracked));
        this.inFlight.add(tracked);
      });
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
    this.conn = conn;
    conn.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'AMQP connection error'));
    conn.on('close', () => {
      if (this.stopping) return;
      this.conn = undefined;
      this.o.logger.warn({ node: redact(url) }, 'AMQP connection lost; unacknowledged messages go back to the queue; reconnecting');
      void this.reconnect();
    });
    this.o.logger.info({ node: redact(url), queue: this.queue }, 'telemetry ingest consuming');
  }

  private async reconnect(): Promise<void> {
    let delay = this.o.retryMinMs ?? 200;
    while (!this.stopping && !this.conn) {
      try {
        await this.start();
      } catch {
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.o.retryMaxMs ?? 5000);
      }
    }
  }

  private async handle(m: amqp.ConsumeMessage): Promise<void> {
    const topic = routingKeyToTopic(m.fields.routingKey);
    const checked = checkSequenced(Channel.telemetry, TelemetryMessage, this.o.prefix, topic, m.content);
    if (checked.kind === 'other') return;
    this.counters.received++;
    if (checked.kind !== 'ok') {
      this.counters[checked.kind]++;
      this.o.logger.warn({ topic, ...checked.log }, checked.message);
      return;
    }
    const msg = checked.msg;
    let delay = this.o.retryMinMs ?? 200;
    for (;;) {
      if (this.stopping) throw new Error('ingest stopping');
      try {
        if (await this.o.sink.insertTelemetryBatch(msg.gw, msg.seq, msg.readings)) {
          this.counters.stored++;
          this.readings += msg.readings.length;
        } else this.counters.duplicates++;
        return;
      } catch (err) {
        this.counters.sinkErrors++;
        this.o.logger.error({ err: (err as Error).message, gw: msg.gw, seq: msg.seq, retryInMs: delay }, 'storing telemetry failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.o.retryMaxMs ?? 5000);
      }
    }
  }

  /** Stops taking messages, lets the inserts under way finish and ack, then closes. */
  async stop(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    this.stopping = true;
    await Promise.all(this.inFlight);
    await conn?.close().catch(() => undefined);
  }
}

/** An AMQP URL without its password, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return 'amqp://?';
  }
}
