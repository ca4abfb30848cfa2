import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { BrokerError } from '../broker/errors.js';
import { openMqtt, type MqttConnection } from '../broker/mqtt-connection.js';

/**
 * The part every registry follower shares: one MQTT connection subscribed to a few filters,
 * messages handled one at a time in arrival order, `idle()` resolving when all received so far
 * were handled. Subclasses validate and dispatch in `handle`, which must not throw.
 */
export abstract class TopicFollower {
  private client: MqttClient | undefined;
  private chain: Promise<void> = Promise.resolve();

  protected constructor(
    private readonly connection: MqttConnection,
    protected readonly log: Logger,
    /** Names the connection and the subscriptions in logs and errors, e.g. "fleet". */
    private readonly role: string,
    private readonly filters: readonly string[],
  ) {}

  async start(): Promise<void> {
    if (this.client) return;
    const client = await openMqtt(this.connection, { logger: this.log, role: this.role });
    client.on('message', (topic, payload) => {
      this.chain = this.chain.then(() => this.handle(topic, payload));
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

  protected abstract handle(topic: string, payload: Buffer): Promise<void>;
}
