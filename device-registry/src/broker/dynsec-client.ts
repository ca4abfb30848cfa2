import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { BrokerError } from './errors.js';
import { openMqtt, type MqttConnection } from './mqtt-connection.js';

/** Topics of Mosquitto's dynamic-security plugin (mosquitto 2.x). */
export const DYNSEC_REQUEST_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = '$CONTROL/dynamic-security/v1/response';

export interface DynsecCommand {
  command: string;
  [field: string]: unknown;
}

export interface DynsecResponse {
  command: string;
  /** Present when the command failed, e.g. "Client already exists", "Role not found". */
  error?: string;
  data?: Record<string, unknown>;
  correlationData?: string;
}

/** Runs dynamic-security commands; the transport behind MosquittoDynsec (a fake may stand in for logic tests). */
export interface DynsecTransport {
  run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]>;
}

export interface DynsecClientOptions {
  /** The dynsec admin user (created by `mosquitto_ctrl dynsec init`). */
  connection: MqttConnection;
  logger: Logger;
  /** Answer timeout per request (default 10 s). */
  timeoutMs?: number;
}

/**
 * Talks to the plugin as an admin client over MQTT: publishes `{"commands": [...]}` on the
 * request topic and matches the `{"responses": [...]}` on the response topic by correlation data.
 * Passwords travel in commands and are never logged.
 */
export class DynsecClient implements DynsecTransport {
  private client: MqttClient | undefined;
  private readonly waiting = new Map<string, (r: DynsecResponse) => void>();
  private readonly log: Logger;
  private readonly batch = randomBytes(4).toString('hex');
  private counter = 0;

  constructor(private readonly opts: DynsecClientOptions) {
    this.log = opts.logger.child({ module: 'dynsec-client' });
  }

  async start(): Promise<void> {
    if (this.client) return;
    const client = await openMqtt(this.opts.connection, { logger: this.log, role: 'dynsec' });
    client.on('message', (topic, payload) => {
      if (topic === DYNSEC_RESPONSE_TOPIC) this.onResponse(payload);
    });
    try {
      await client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
    } catch (err) {
      await client.endAsync(true);
      throw new BrokerError('REG_BROKER_DENIED', `cannot subscribe to ${DYNSEC_RESPONSE_TOPIC} as "${this.opts.connection.username}" (is it the dynsec admin?): ${(err as Error).message}`, { cause: err });
    }
    this.client = client;
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.endAsync();
  }

  async run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    const client = this.client;
    if (!client) throw new BrokerError('REG_BROKER_UNAVAILABLE', 'the dynsec client is not started');
    if (commands.length === 0) return [];
    const ids = commands.map(() => `${this.batch}-${++this.counter}`);
    const answers = ids.map((id) => new Promise<DynsecResponse>((resolve) => this.waiting.set(id, resolve)));
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BrokerError('REG_BROKER_TIMEOUT', `no answer from the dynamic-security plugin within ${timeoutMs} ms (${commands.map((c) => c.command).join(', ')})`)), timeoutMs);
    });
    try {
      await client.publishAsync(DYNSEC_REQUEST_TOPIC, JSON.stringify({ commands: commands.map((c, i) => ({ ...c, correlationData: ids[i] })) }), { qos: 1 });
      return await Promise.race([Promise.all(answers), timeout]);
    } finally {
      clearTimeout(timer);
      for (const id of ids) this.waiting.delete(id);
    }
  }

  private onResponse(payload: Buffer): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      this.log.warn('unparseable dynsec response ignored');
      return;
    }
    const responses = (parsed as { responses?: unknown }).responses;
    if (!Array.isArray(responses)) return;
    for (const r of responses as DynsecResponse[]) {
      const id = typeof r?.correlationData === 'string' ? r.correlationData : undefined;
      if (id) this.waiting.get(id)?.(r);
    }
  }
}
