import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { BrokerError } from './errors.js';

/** How one of the registry's own MQTT clients reaches the broker. */
export interface MqttConnection {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  /**
   * Further nodes of the same broker cluster: after a lost connection or a failed attempt the
   * client tries the next URL, round the list (as gateways do with forwarding.brokerUrls).
   */
  otherUrls?: readonly string[];
  username: string;
  password: string;
  /** Defaults to `<username>-<role>-<random>`; set it where a session must survive a restart. */
  clientId?: string;
  /** 5 (default) for Mosquitto and EMQX; the embedded broker (aedes) speaks 3.1.1 only: 4. */
  protocolVersion?: 4 | 5;
  /** CA certificate (PEM) for mqtts. */
  ca?: string;
}

export interface OpenMqttOptions {
  logger: Logger;
  /** What the client is for, part of the default client id: `config`, `follower`, `ingest`. */
  role: string;
  /** Give up on the first connection after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Extra MQTT.js options (clean, properties...). */
  options?: IClientOptions;
  /** Called with the client before it connects (to install handlers a resumed session may need at once). */
  prepare?: (client: MqttClient) => void;
}

/** One MQTT.js `servers` entry: MQTT.js moves to the next entry on every reconnect. */
function serverOf(url: string): { host: string; port: number; protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss' } {
  const u = new URL(url);
  const protocol = u.protocol.slice(0, -1) as 'mqtt' | 'mqtts' | 'ws' | 'wss';
  const defaultPort = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 }[protocol];
  return { host: u.hostname, port: u.port ? Number(u.port) : defaultPort, protocol };
}

/**
 * Connects a service client and waits for the first CONNACK. A refused login (bad credentials,
 * not authorized) fails at once with REG_BROKER_AUTH; an unreachable broker fails with
 * REG_BROKER_UNAVAILABLE after the timeout. Afterwards MQTT.js reconnects by itself.
 * The password never reaches a log line.
 */
export async function openMqtt(conn: MqttConnection, opts: OpenMqttOptions): Promise<MqttClient> {
  const clientId = conn.clientId ?? `${conn.username}-${opts.role}-${randomBytes(4).toString('hex')}`;
  const log = opts.logger.child({ clientId });
  const client = mqtt.connect(conn.url, {
    username: conn.username,
    password: conn.password,
    clientId,
    protocolVersion: conn.protocolVersion ?? 5,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(conn.otherUrls?.length ? { servers: [conn.url, ...conn.otherUrls].map(serverOf) } : {}),
    ...(conn.ca ? { ca: conn.ca } : {}),
    ...opts.options,
  });
  opts.prepare?.(client);
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new BrokerError('REG_BROKER_UNAVAILABLE', `MQTT broker ${conn.url} not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnect = (): void => {
        cleanup();
        resolve();
      };
      const onError = (err: Error & { code?: unknown }): void => {
        if (typeof err.code !== 'number') {
          log.debug({ err: err.message }, 'mqtt connection attempt failed; retrying');
          return;
        }
        cleanup();
        reject(new BrokerError('REG_BROKER_AUTH', `MQTT broker ${conn.url} refused user "${conn.username}": ${err.message}`, { cause: err }));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
      };
      client.on('connect', onConnect);
      client.on('error', onError);
    });
  } catch (err) {
    await client.endAsync(true).catch(() => undefined);
    throw err;
  }
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'mqtt client error'));
  client.on('offline', () => log.warn('mqtt client offline; reconnecting'));
  client.on('reconnect', () => log.debug('mqtt client reconnecting'));
  return client;
}
