import { DEFAULT_TOPIC_PREFIX } from '@cityedge/contract';
import { GATEWAY_PUBLISHED_CHANNELS } from './acl.js';

/**
 * What the province cluster (RabbitMQ with its MQTT plugin) needs declared besides what the
 * plugin declares itself: ONE replicated (quorum) queue that every channel gateways publish is
 * routed to, so that
 * - a gateway's QoS 1 PUBLISH is confirmed by the queue's quorum (the MQTT plugin sends PUBACK on
 *   the publisher confirm), and survives the death of any one node of three;
 * - ingest workers consume it competitively over AMQP (one message goes to one worker; a worker
 *   acks after its commit, an unacked message is redelivered to another worker).
 * MQTT topics map to AMQP routing keys on `amq.topic` with `/` ↔ `.`: `edge/v1/gw-a/telemetry` is
 * `edge.v1.gw-a.telemetry`, and the MQTT topic is recovered with `routingKeyToTopic`.
 */
export const INGEST_QUEUE = 'cityedge.ingest';
export const MQTT_EXCHANGE = 'amq.topic';

/** `edge/v1/+/telemetry` → `edge.v1.*.telemetry` for each channel a gateway publishes. */
export function ingestBindingKeys(prefix = DEFAULT_TOPIC_PREFIX): string[] {
  return GATEWAY_PUBLISHED_CHANNELS.map((c) => topicToRoutingKey(`${prefix}/+/${c}`));
}

/** An MQTT topic or filter as an AMQP routing key or binding key (`/`→`.`, `+`→`*`, `#` kept). */
export function topicToRoutingKey(topic: string): string {
  return topic
    .split('/')
    .map((l) => (l === '+' ? '*' : l.split('.').join('/')))
    .join('.');
}

/**
 * An AMQP routing or binding key as the MQTT topic or filter: the MQTT plugin swaps `/` and `.`
 * (so a `.` inside an MQTT level travels as `/`), and `*` is MQTT's `+`.
 */
export function routingKeyToTopic(key: string): string {
  return key
    .split('.')
    .map((l) => (l === '*' ? '+' : l.split('/').join('.')))
    .join('/');
}

/** The part of an amqplib channel used here (so this module needs no amqplib import). */
export interface AmqpTopologyChannel {
  assertQueue(queue: string, options: { durable: boolean; arguments: Record<string, unknown> }): Promise<unknown>;
  bindQueue(queue: string, exchange: string, pattern: string): Promise<unknown>;
}

/**
 * Declares the ingest queue (quorum, replicated to every node) and its bindings; idempotent, so
 * every ingest worker may call it at start.
 */
export async function declareIngestQueue(channel: AmqpTopologyChannel, options: { queue?: string; prefix?: string } = {}): Promise<void> {
  const queue = options.queue ?? INGEST_QUEUE;
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  for (const key of ingestBindingKeys(options.prefix)) await channel.bindQueue(queue, MQTT_EXCHANGE, key);
}
