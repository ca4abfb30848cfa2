import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type * as z from 'zod';
import { allGateways, DEFAULT_TOPIC_PREFIX, parseTopic, type Channel } from '@cityedge/contract';
import { BrokerError } from '../broker/errors.js';
import { openMqtt, type MqttConnection } from '../broker/mqtt-connection.js';
import { parsePayload } from './payloads.js';

export interface SequencedIngestOptions {
  /** Service or consumer account; the client id must be stable so the broker keeps its session across a crash. */
  connection: MqttConnection & { clientId: string };
  logger: Logger;
  prefix?: string;
  /**
   * Shared-subscription group: subscribe `$share/<group>/{prefix}/+/<channel>` so several ingest
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

/** What every sequenced ingest counts. */
export interface SequencedIngestCounters {
  /** Messages received (duplicates included). */
  received: number;
  /** Messages stored for the first time. */
  stored: number;
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
 * A central consumer of one sequenced channel (telemetry, events): every message carries its
 * gateway and a seq, and is stored exactly once by (gw, seq). Subscribes at QoS 1 to
 * `{prefix}/+/<channel>` (shared when a group is set), checks each message, and hands it to
 * `store`, which drops duplicates by (gw, seq). The PUBACK goes out only after the insert
 * committed: a crash before that leaves the message unacknowledged in the broker's session, which
 * redelivers it to the restarted consumer (or, shared, to another member of the group).
 * Malformed and mismatched messages are acknowledged and dropped so they cannot block the
 * stream. While the store is down the insert is retried; meanwhile no further message is taken
 * (MQTT.js handles incoming packets one at a time), so the broker holds the backlog.
 */
export abstract class SequencedIngest<M extends { gw: string; seq: number }> {
  private client: MqttClient | undefined;
  private generation = 0;
  private stopping = false;
  private wake: (() => void) | undefined;
  protected readonly log: Logger;
  private readonly prefix: string;
  protected readonly counters: SequencedIngestCounters = { received: 0, stored: 0, duplicates: 0, malformed: 0, mismatched: 0, sinkErrors: 0 };

  protected constructor(
    private readonly opts: SequencedIngestOptions,
    private readonly channel: Channel,
    private readonly schema: z.ZodType<M>,
  ) {
    this.log = opts.logger.child({ module: `${channel}-ingest`, clientId: opts.connection.clientId });
    this.prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
  }

  /**
   * Stores one validated message atomically and idempotently by (gw, seq): true when stored,
   * false for a duplicate. Rejects only when storage failed (retried, not acknowledged meanwhile).
   */
  protected abstract store(msg: M): Promise<boolean>;

  get filter(): string {
    const f = allGateways(this.channel, this.prefix);
    return this.opts.sharedGroup ? `$share/${this.opts.sharedGroup}/${f}` : f;
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
      throw new BrokerError('REG_BROKER_DENIED', `broker refused the ${this.channel} subscription ${this.filter}: ${(err as Error).message}`, { cause: err });
    }
    this.client = client;
    this.log.info({ filter: this.filter }, `${this.channel} ingest subscribed`);
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
    const checked = checkSequenced(this.channel, this.schema, this.prefix, topic, payload, this.opts.maxPayloadBytes);
    if (checked.kind === 'other') return;
    this.counters.received++;
    if (checked.kind !== 'ok') {
      this.counters[checked.kind]++;
      this.log.warn({ topic, ...checked.log }, checked.message);
      return;
    }
    const msg = checked.msg;
    let delay = this.opts.retryMinMs ?? 200;
    for (;;) {
      if (this.stopping) throw new Error('ingest stopping');
      try {
        if (await this.store(msg)) this.counters.stored++;
        else this.counters.duplicates++;
        return;
      } catch (err) {
        this.counters.sinkErrors++;
        this.log.error({ err: (err as Error).message, gw: msg.gw, seq: msg.seq, retryInMs: delay }, `storing ${this.channel} failed; retrying`);
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

export type SequencedCheck<M> =
  | { kind: 'ok'; msg: M }
  /** Not a topic of this channel: ignored, not counted. */
  | { kind: 'other' }
  | { kind: 'malformed' | 'mismatched'; message: string; log: Record<string, unknown> };

/**
 * The checks every sequenced message passes before it is stored, whatever carried it (MQTT, AMQP):
 * its topic is the channel's, its payload parses (within the size bound), and its `gw` is the
 * topic's gateway.
 */
export function checkSequenced<M extends { gw: string; seq: number }>(
  channel: Channel,
  schema: z.ZodType<M>,
  prefix: string,
  topic: string,
  payload: Buffer,
  maxPayloadBytes = 1024 * 1024,
): SequencedCheck<M> {
  const t = parseTopic(topic, prefix);
  if (!t || t.channel !== channel) return { kind: 'other' };
  const r = parsePayload(schema, payload, maxPayloadBytes);
  if (!r.ok) return { kind: 'malformed', message: `malformed ${channel} message dropped`, log: { problem: r.problem } };
  if (r.value.gw !== t.gatewayId) return { kind: 'mismatched', message: `${channel} message names another gateway than its topic; dropped`, log: { payloadGw: r.value.gw } };
  return { kind: 'ok', msg: r.value };
}
