import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Channel, encodeStatus, topicFor, type ForwardingConfig, type StatusMessage } from '@cityedge/contract';
import { Backoff } from '../forward/backoff.js';
import { loadConnectionSecrets, redactBrokerUrl, topicMatches, type ConnectionSecrets } from '../forward/connection-secrets.js';

export interface MqttSessionOptions {
  config: ForwardingConfig;
  gatewayId: string;
  logger: Logger;
  agentVersion: string;
  /** Fields of the retained status beyond who and when (backlog, config version, failing devices). */
  status: () => Omit<StatusMessage, 'v' | 'gw' | 'state' | 'ts' | 'agentVersion' | 'startedAt'>;
  /** Jitter source for reconnects, uniform in [0, 1). */
  random?: () => number;
  now?: () => number;
  /** MQTT version tried first; default the config's. A broker that refuses 5 (aedes) gets 3.1.1. */
  protocolVersion?: 4 | 5;
  /** A connection up this long resets the backoff; default 10 s. */
  stableAfterMs?: number;
  /** Time allowed for the TCP/TLS connect and the CONNACK; default 10 s. */
  connectTimeoutMs?: number;
  /** Time stop() waits for the offline status and a clean disconnect; default 2 s. */
  stopTimeoutMs?: number;
}

export interface MqttSessionStats {
  connected: boolean;
  /** The broker URL of the current (or next) attempt, without credentials. */
  brokerUrl: string;
  /** Connection attempts after the first. */
  reconnects: number;
  lastError: string | undefined;
  protocolVersion: 4 | 5;
}

/** A PUBACK that refuses (MQTT 5 reason code >= 0x80) or a publish the connection lost. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    message: string,
    /** The PUBACK reason code when the broker refused. */
    readonly reasonCode: number | undefined,
  ) {
    super(message);
  }
}

type MessageHandler = (topic: string, payload: Buffer) => void;
type ConnectionListener = (up: boolean) => void;

/**
 * The gateway's one MQTT session: connection, last will, retained state, subscriptions and the
 * dispatch of what arrives. It survives reconfiguration (a new broker URL or identity reconnects
 * in place; subscriptions and retained state carry over). MQTT.js never reconnects by itself
 * (reconnectPeriod 0) and its in-memory queue is dropped with the client on every disconnect:
 * data to deliver lives in the outbox and is published by the outbox drain, never queued here.
 * Reconnects use capped exponential backoff with full jitter, reset once a connection is stable.
 */
export class MqttSession {
  readonly name = 'mqtt session';
  private config: ForwardingConfig;
  private readonly opts: MqttSessionOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private backoff: Backoff;
  private statusTopic: string;
  private readonly subscriptions = new Map<string, Set<MessageHandler>>();
  /** Latest retained payload per channel besides the status, re-published on every connection. */
  private readonly retained = new Map<Channel, string>();
  private readonly listeners = new Set<ConnectionListener>();
  private secrets: ConnectionSecrets | undefined;
  private protocolVersion: 4 | 5;
  private client: MqttClient | undefined;
  /** Identifies the current client; callbacks of an older one are ignored. */
  private epoch = 0;
  private connected = false;
  private running = false;
  private startedAt = 0;
  private retryNow = false;
  private reconnects = 0;
  /** Position in brokerUrls(config) of the current (or next) attempt. */
  private urlIndex = 0;
  private lastError: string | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;

  constructor(opts: MqttSessionOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.protocolVersion = opts.protocolVersion ?? opts.config.protocolVersion;
    this.backoff = this.makeBackoff();
    this.statusTopic = this.topic(Channel.status);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get topicPrefix(): string {
    return this.config.topicPrefix;
  }

  /** A topic of this gateway. */
  topic(channel: Channel): string {
    return topicFor(this.opts.gatewayId, channel, this.config.topicPrefix);
  }

  /** Reads credentials and TLS files (throws EDGE_FORWARD_CONFIG), then connects in the background, retrying forever. */
  start(): void {
    if (this.running) return;
    this.secrets = loadConnectionSecrets(this.config);
    this.running = true;
    this.startedAt = this.now();
    this.connect();
  }

  /** Publishes the retained offline status (when connected) and disconnects cleanly. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.reconnectTimer);
    await this.closeClient(true);
    this.log.info('mqtt session closed');
  }

  /**
   * Applies new forwarding settings. A new broker, identity, TLS or MQTT setting reconnects
   * (subscriptions and retained state carry over); backoff and status timing change in place.
   * Reads the new files first, so a missing one throws and leaves the session as it was.
   */
  async reconfigure(config: ForwardingConfig, how: 'update' | 'reconnect'): Promise<void> {
    if (how === 'reconnect') {
      const secrets = loadConnectionSecrets(config);
      this.config = config;
      this.secrets = secrets;
      this.protocolVersion = config.protocolVersion;
      this.statusTopic = this.topic(Channel.status);
      this.backoff = this.makeBackoff();
      this.urlIndex = 0;
      if (!this.running) return;
      clearTimeout(this.reconnectTimer);
      await this.closeClient(true);
      this.log.info({ broker: redactBrokerUrl(config.brokerUrl) }, 'forwarding settings changed: reconnecting');
      this.connect();
      return;
    }
    this.config = config;
    this.backoff = this.makeBackoff();
    if (this.connected) {
      clearInterval(this.statusTimer);
      this.statusTimer = setInterval(() => this.publishStatus(), config.statusIntervalMs);
    }
  }

  stats(): MqttSessionStats {
    return { connected: this.connected, brokerUrl: redactBrokerUrl(this.currentUrl()), reconnects: this.reconnects, lastError: this.lastError, protocolVersion: this.protocolVersion };
  }

  /** Called with true when a connection comes up, false when it is lost. Returns an unsubscribe function. */
  onConnection(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Subscribes (QoS 1) to a filter now and after every reconnect. Returns an unsubscribe function. */
  subscribe(filter: string, handler: MessageHandler): () => void {
    let handlers = this.subscriptions.get(filter);
    if (!handlers) {
      handlers = new Set();
      this.subscriptions.set(filter, handlers);
      if (this.connected) this.sendSubscribe(filter);
    }
    handlers.add(handler);
    return () => {
      const set = this.subscriptions.get(filter);
      set?.delete(handler);
      if (set && set.size === 0) {
        this.subscriptions.delete(filter);
        if (this.connected) this.client?.unsubscribe(filter);
      }
    };
  }

  /**
   * Keeps `payload` retained (QoS 1) on a channel of this gateway: published now when connected
   * and again after every reconnect, so the latest value always reaches the broker. For small
   * state (the configuration report, camera states); data goes through the outbox.
   */
  retain(channel: Channel, payload: string): void {
    this.retained.set(channel, payload);
    this.publishRetained(channel, payload);
  }

  /**
   * Publishes QoS 1 on the current connection; resolves on a successful PUBACK, rejects with a
   * PublishError otherwise. Nothing is queued across connections: the caller keeps the data.
   */
  publish(topic: string, payload: string | Buffer): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return Promise.reject(new PublishError('not connected', undefined));
    const epoch = this.epoch;
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (!err) return resolve();
        const code = (err as Error & { code?: unknown }).code;
        reject(new PublishError(err.message, epoch === this.epoch && typeof code === 'number' ? code : undefined));
      });
    });
  }

  /** Drops the connection and reconnects after the backoff, e.g. when the broker refused a publish. */
  dropConnection(reason: string): void {
    this.lastError = reason;
    clearTimeout(this.stableTimer);
    this.connectionLost(this.epoch);
  }

  /** Refreshes the retained status now (e.g. when the backlog or failing devices changed a lot). */
  publishStatus(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    client.publish(this.statusTopic, this.statusPayload('online'), { qos: 1, retain: true }, (err) => {
      if (err) this.log.debug({ err }, 'status publish failed');
    });
  }

  /** The URL of the current (or next) attempt. */
  private currentUrl(): string {
    const urls = brokerUrls(this.config);
    return urls[this.urlIndex % urls.length]!;
  }

  private makeBackoff(): Backoff {
    return new Backoff({ minMs: this.config.reconnectMinMs, maxMs: this.config.reconnectMaxMs, random: this.opts.random ?? Math.random });
  }

  private sendSubscribe(filter: string): void {
    this.client?.subscribe(filter, { qos: 1 }, (err, granted) => {
      if (err) this.log.warn({ filter, err }, 'subscribe failed');
      else if (granted?.some((g) => g.qos >= 0x80)) this.log.warn({ filter, qos: granted.map((g) => g.qos) }, 'the broker refused a subscription');
    });
  }

  private publishRetained(channel: Channel, payload: string): void {
    if (!this.connected) return;
    this.client?.publish(this.topic(channel), payload, { qos: 1, retain: true }, (err) => {
      if (err) this.log.debug({ channel, err }, 'retained publish failed; sent again on reconnect');
    });
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (!this.running) return;
    const epoch = ++this.epoch;
    const config = this.config;
    const secrets = this.secrets as ConnectionSecrets;
    const options: IClientOptions = {
      protocolVersion: this.protocolVersion,
      clean: true,
      clientId: config.clientId ?? this.opts.gatewayId,
      keepalive: config.keepaliveSec,
      reconnectPeriod: 0,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      queueQoSZero: false,
      resubscribe: false,
      // mqtt-packet's cache of 65,536 pre-built length buffers costs ~6 MB of heap on a small gateway.
      writeCache: false,
      will: { topic: this.statusTopic, payload: Buffer.from(this.statusPayload('offline')), qos: 1, retain: true },
      rejectUnauthorized: secrets.rejectUnauthorized,
      ...(config.username !== undefined && { username: config.username }),
      ...(secrets.password !== undefined && { password: secrets.password }),
      ...(secrets.ca && { ca: secrets.ca }),
      ...(secrets.cert && { cert: secrets.cert }),
      ...(secrets.key && { key: secrets.key }),
    };
    const url = this.currentUrl();
    let client: MqttClient;
    try {
      client = mqtt.connect(url, options);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.error({ broker: redactBrokerUrl(url), err }, 'cannot create the MQTT client');
      this.connectionLost(epoch);
      return;
    }
    this.client = client;
    client.on('connect', () => this.connectionUp(epoch));
    client.on('error', (err) => this.connectionError(epoch, err));
    client.on('close', () => this.connectionLost(epoch));
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
  }

  private connectionUp(epoch: number): void {
    if (epoch !== this.epoch || !this.running) return;
    this.connected = true;
    this.log.info({ broker: redactBrokerUrl(this.currentUrl()), protocolVersion: this.protocolVersion, attempts: this.backoff.attempts }, 'connected to the broker');
    this.stableTimer = setTimeout(() => this.backoff.reset(), this.opts.stableAfterMs ?? 10_000);
    // Subscriptions first: the registry republishes pending commands when it sees the gateway
    // online, and the broker handles our packets in order.
    for (const filter of this.subscriptions.keys()) this.sendSubscribe(filter);
    this.publishStatus();
    for (const [channel, payload] of this.retained) this.publishRetained(channel, payload);
    this.statusTimer = setInterval(() => this.publishStatus(), this.config.statusIntervalMs);
    this.notify(true);
  }

  private connectionError(epoch: number, err: Error & { code?: unknown }): void {
    if (epoch !== this.epoch) return;
    this.lastError = err.message;
    const code = err.code;
    if (!this.connected && this.protocolVersion === 5 && (code === 1 || code === 0x84)) {
      this.log.info('the broker does not speak MQTT 5; using MQTT 3.1.1');
      this.protocolVersion = 4;
      this.retryNow = true;
    } else {
      this.log.warn({ err, code, connected: this.connected }, 'broker connection error');
    }
    this.connectionLost(epoch);
  }

  /** Forgets the client (and whatever MQTT.js still queues) and schedules a new connection. */
  private connectionLost(epoch: number): void {
    if (epoch !== this.epoch || !this.running) return;
    this.epoch++;
    const wasConnected = this.connected;
    this.connected = false;
    clearTimeout(this.stableTimer);
    clearInterval(this.statusTimer);
    if (this.client) this.discard(this.client);
    this.client = undefined;
    const delay = this.retryNow ? 0 : this.backoff.next();
    // A cluster: the next attempt goes to the next node (the same one when only the MQTT version changes).
    if (!this.retryNow) this.urlIndex = (this.urlIndex + 1) % brokerUrls(this.config).length;
    this.retryNow = false;
    this.reconnects++;
    if (wasConnected) {
      this.log.warn({ reconnectInMs: delay, err: this.lastError }, 'lost the broker connection; unacked messages stay in the outbox');
      this.notify(false);
    } else {
      this.log.debug({ reconnectInMs: delay, attempt: this.backoff.attempts, err: this.lastError }, 'broker connection failed; retrying');
    }
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Says offline (retained) on a clean connection, then ends it; never rejects. */
  private async closeClient(sayOffline: boolean): Promise<void> {
    clearTimeout(this.stableTimer);
    clearInterval(this.statusTimer);
    const client = this.client;
    const wasConnected = this.connected;
    this.client = undefined;
    this.connected = false;
    this.epoch++;
    if (!client) return;
    if (wasConnected) this.notify(false);
    const timeoutMs = this.opts.stopTimeoutMs ?? 2000;
    if (wasConnected && sayOffline) {
      await withTimeout(timeoutMs, (done) => client.publish(this.statusTopic, this.statusPayload('offline'), { qos: 1, retain: true }, () => done()));
      await withTimeout(timeoutMs, (done) => client.end(false, {}, () => done()));
    }
    this.discard(client);
  }

  private discard(client: MqttClient): void {
    client.removeAllListeners();
    client.on('error', () => undefined);
    try {
      client.end(true);
    } catch {
      // already closed
    }
  }

  private notify(up: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(up);
      } catch (err) {
        this.log.error({ err }, 'connection listener threw');
      }
    }
  }

  private statusPayload(state: 'online' | 'offline'): string {
    let extra: ReturnType<MqttSessionOptions['status']> = {};
    try {
      extra = this.opts.status();
    } catch (err) {
      this.log.warn({ err }, 'status callback threw');
    }
    return encodeStatus({ ...extra, v: 1, gw: this.opts.gatewayId, state, ts: this.now(), agentVersion: this.opts.agentVersion, startedAt: this.startedAt });
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const [filter, handlers] of this.subscriptions) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of handlers) {
        try {
          handler(topic, payload);
        } catch (err) {
          this.log.error({ topic, err }, 'message handler threw');
        }
      }
    }
  }
}

/** brokerUrl first, then the further cluster nodes of brokerUrls, each once. */
export function brokerUrls(config: Pick<ForwardingConfig, 'brokerUrl' | 'brokerUrls'>): string[] {
  return [...new Set([config.brokerUrl, ...(config.brokerUrls ?? [])])];
}

function withTimeout(ms: number, run: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      run(done);
    } catch {
      done();
    }
  });
}
