import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Channel, DEFAULT_TOPIC_PREFIX, topicFor, type SignedCommand, type SignedConfig } from '@cityedge/contract';
import { BrokerError } from './errors.js';
import { openMqtt, type MqttConnection } from './mqtt-connection.js';

/** What the registry core calls to deliver a signed configuration over the air. */
export interface ConfigPublisher {
  /** Resolves once the broker acknowledged the retained message (PUBACK). */
  publish(gatewayId: string, signed: SignedConfig): Promise<void>;
}

export interface MqttConfigPublisherOptions {
  /** The registry's service account. */
  connection: MqttConnection;
  logger: Logger;
  prefix?: string;
  /** Reject a publish not acknowledged within this time (default 15 s); the message may still go out later. */
  publishTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * Delivers signed configurations retained at QoS 1 on `{prefix}/{gw}/config`, so a gateway that
 * is offline gets the latest one when it subscribes. The broker keeps one retained message per
 * topic: a newer version replaces the older one. Signed commands go on `{prefix}/{gw}/cmd`,
 * QoS 1 and not retained (a command is for now; the registry publishes it again when the
 * gateway comes back online).
 */
export class MqttConfigPublisher implements ConfigPublisher {
  private client: MqttClient | undefined;
  private readonly log: Logger;
  private readonly prefix: string;

  constructor(private readonly opts: MqttConfigPublisherOptions) {
    this.log = opts.logger.child({ module: 'config-publisher' });
    this.prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
  }

  async start(): Promise<void> {
    if (this.client) return;
    this.client = await openMqtt(this.opts.connection, { logger: this.log, role: 'config', ...(this.opts.connectTimeoutMs ? { connectTimeoutMs: this.opts.connectTimeoutMs } : {}) });
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.endAsync();
  }

  async publish(gatewayId: string, signed: SignedConfig): Promise<void> {
    if (signed.gatewayId !== gatewayId) throw new BrokerError('REG_BROKER_CONFIG', `configuration for "${signed.gatewayId}" cannot be published to gateway "${gatewayId}"`);
    await this.send(gatewayId, Channel.config, JSON.stringify(signed), true);
    this.log.info({ gatewayId, version: signed.version }, 'configuration delivered to the broker (retained)');
  }

  /** Resolves once the broker acknowledged the command (PUBACK). */
  async publishCommand(gatewayId: string, signed: SignedCommand): Promise<void> {
    if (signed.gatewayId !== gatewayId) throw new BrokerError('REG_BROKER_CONFIG', `command for "${signed.gatewayId}" cannot be published to gateway "${gatewayId}"`);
    await this.send(gatewayId, Channel.cmd, JSON.stringify(signed), false);
    this.log.info({ gatewayId, commandId: signed.id, name: signed.name }, 'command delivered to the broker');
  }

  /** Removes the retained configuration (decommissioned gateway). */
  async clear(gatewayId: string): Promise<void> {
    await this.send(gatewayId, Channel.config, '', true);
    this.log.info({ gatewayId }, 'retained configuration cleared');
  }

  private async send(gatewayId: string, channel: typeof Channel.config | typeof Channel.cmd, payload: string, retain: boolean): Promise<void> {
    const client = this.client;
    if (!client) throw new BrokerError('REG_BROKER_UNAVAILABLE', 'the config publisher is not started');
    const topic = topicFor(gatewayId, channel, this.prefix);
    const timeoutMs = this.opts.publishTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BrokerError('REG_BROKER_TIMEOUT', `broker did not acknowledge ${topic} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([client.publishAsync(topic, payload, { qos: 1, retain }), timeout]);
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      throw new BrokerError('REG_BROKER_DENIED', `broker refused ${topic}: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}
