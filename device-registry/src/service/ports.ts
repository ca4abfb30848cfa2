import type { SignedCommand, SignedConfig } from '@cityedge/contract';

/**
 * Delivers a signed configuration to a gateway: retained, QoS 1, on `{prefix}/{gw}/config`.
 * The broker module implements it over MQTT; resolve only once the broker has taken it.
 */
export interface ConfigPublisher {
  publish(gatewayId: string, signed: SignedConfig): Promise<void>;
}

/**
 * Keeps a broker's own credential store in step with the registry (Mosquitto dynamic security;
 * the embedded broker uses it to drop live sessions). Same shape as the broker module's
 * BrokerIdentityProvisioner. Passwords exist in clear only in these calls.
 */
export interface BrokerIdentity {
  /** First enrollment of a gateway. */
  provisionGateway(gatewayId: string, password: string): Promise<void>;
  /** Re-enrollment: the gateway got a new password. */
  setGatewayPassword(gatewayId: string, password: string): Promise<void>;
  /** The gateway was deleted: remove its broker account and sessions. */
  deprovisionGateway(gatewayId: string): Promise<void>;
}

/** Where gateways connect, as told to them at enrollment and written into their configuration. */
export interface BrokerInfo {
  /** mqtt://, mqtts://, ws:// or wss:// URL reachable from the gateways. */
  url: string;
  /** A broker cluster: every node's URL as gateways reach it (url first); sent as forwarding.brokerUrls. */
  urls?: readonly string[];
  /** Gateways keep a persistent MQTT session (forwarding.cleanSession false): a RabbitMQ cluster's replicated subscription queues. */
  persistentSessions?: boolean;
  /** Topic prefix, default `edge/v1`. */
  topicPrefix?: string;
}

/** A publisher that delivers nothing: configurations are then fetched over HTTP only. */
export class HttpOnlyPublisher implements ConfigPublisher {
  publish(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Delivers a signed command to a gateway: QoS 1, not retained, on `{prefix}/{gw}/cmd`. Resolve
 * once the broker has taken it (PUBACK); reject when it did not (the command stays pending and
 * is published again).
 */
export interface CommandPublisher {
  publishCommand(gatewayId: string, signed: SignedCommand): Promise<void>;
}

/** The registry runs without a broker connection: commands wait, pending, until one is there. */
export class NoBrokerCommandPublisher implements CommandPublisher {
  publishCommand(): Promise<void> {
    return Promise.reject(new Error('the registry has no broker connection to send commands through'));
  }
}
