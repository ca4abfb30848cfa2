import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type * as z from 'zod';
import { parseTopic } from '@cityedge/contract';
import { BrokerError } from '../broker/errors.js';
import { openMqtt, type MqttConnection } from '../broker/mqtt-connection.js';
import { parsePayload } from './payloads.js';

/** What every follower counts. */
export interface FollowerCounters {
  /** Not JSON, wrong shape or too large. */
  malformed: number;
  /** Payload `gw` differs from the topic's gateway id: not trusted. */
  mismatched: number;
  /** Empty payloads (a retained message being cleared). */
  cleared: number;
  listenerErrors: number;
}

/**
 * The part every registry follower shares: one MQTT connection subscribed to a few filters,
 * messages handled one at a time in arrival order, `idle()` resolving when all received so far
 * were handled; topics parsed, cleared retained messages counted, payloads validated and trusted
 * only when their `gw` is the topic's gateway, listener failures counted. Nothing here throws.
 */
export abstract class TopicFollower {
  private client: MqttClient | undefined;
  private chain: Promise<void> = Promise.resolve();
  protected readonly common: FollowerCounters = { malformed: 0, mismatched: 0, cleared: 0, listenerErrors: 0 };

  protected constructor(
    private readonly connection: MqttConnection,
    protected readonly log: Logger,
    /** Names the connection, the subscriptions and the messages in logs and errors, e.g. "fleet". */
    private readonly role: string,
    private readonly prefix: string,
    private readonly filters: readonly string[],
  ) {}

  async start(): Promise<void> {
    if (this.client) return;
    const client = await openMqtt(this.connection, { logger: this.log, role: this.role });
    client.on('message', (topic, payload) => {
      this.chain = this.chain.then(() => this.route(topic, payload));
    });
    try {
      await client.subscribeAsync([...this.filters], { qos: 1 });
    } catch (err) {
      await client.endAsync(true);
      throw new BrokerError('REG_BROKER_DENIED', `broker refused the ${this.role} subscriptions ${this.filters.join(', ')}: ${(err as Error).message}`, { cause: err });
    }
    this.client = client;
    this.log.info({ filters: this.filters }, `following ${this.role} topics`);
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.endAsync();
    await this.chain;
  }

  /** Resolves when every message received so far has been handled. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Handles a non-empty message on one of the followed topics; may throw (counted as a listener error). */
  protected abstract handle(topic: string, gatewayId: string, channel: string, payload: Buffer): Promise<void>;

  private async route(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(topic, this.prefix);
    if (!t) return;
    if (payload.length === 0) {
      this.common.cleared++;
      return;
    }
    try {
      await this.handle(topic, t.gatewayId, t.channel, payload);
    } catch (err) {
      this.listenerFailed(topic, err);
    }
  }

  /** The payload, validated and from the gateway its topic names; undefined (counted, logged) otherwise. */
  protected accept<T extends { gw: string }>(schema: z.ZodType<T>, payload: Buffer, maxBytes: number, topic: string, gatewayId: string): T | undefined {
    const r = parsePayload(schema, payload, maxBytes);
    if (!r.ok) return void this.malformed(topic, r.problem);
    if (r.value.gw !== gatewayId) {
      this.common.mismatched++;
      this.log.warn({ topic, payloadGw: r.value.gw }, `${this.role} message names another gateway than its topic; dropped`);
      return undefined;
    }
    return r.value;
  }

  protected malformed(topic: string, problem: string): void {
    this.common.malformed++;
    this.log.warn({ topic, problem }, `malformed ${this.role} message dropped`);
  }

  protected listenerFailed(topic: string, err: unknown, fields: Record<string, unknown> = {}): void {
    this.common.listenerErrors++;
    this.log.error({ topic, ...fields, err: (err as Error).message }, `${this.role} listener failed`);
  }
}
