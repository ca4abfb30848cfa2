import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Channel, encodeStatus, topicFor, type ForwardingConfig, type StatusMessage, type Stream } from '@cityedge/contract';
import type { Batch, Outbox } from '../store/outbox.js';
import { Backoff } from './backoff.js';
import { loadConnectionSecrets, redactBrokerUrl, topicMatches, type ConnectionSecrets } from './connection-secrets.js';

/** What the forwarder needs of the outbox. */
export type ForwarderOutbox = Pick<Outbox, 'inflight' | 'takeBatches' | 'ack' | 'onCommit' | 'stats'>;

export interface ForwarderOptions {
  config: ForwardingConfig;
  gatewayId: string;
  outbox: ForwarderOutbox;
  logger: Logger;
  agentVersion: string;
  /** Extra fields of the retained status. */
  status: () => { configVersion?: number; devicesFailing?: number };
  /** Jitter source for reconnects, uniform in [0, 1). */
  random?: () => number;
  now?: () => number;
  /** MQTT version tried first; default 5. A broker that refuses it (e.g. aedes) gets 3.1.1. */
  protocolVersion?: 4 | 5;
  /** A connection up this long resets the backoff; default 10 s. */
  stableAfterMs?: number;
  /** Time allowed for the TCP/TLS connect and the CONNACK; default 10 s. */
  connectTimeoutMs?: number;
  /** Time stop() waits for the offline status and a clean disconnect; default 2 s. */
  stopTimeoutMs?: number;
}

export interface ForwarderStats {
  connected: boolean;
  /** Messages published, including resends. */
  published: number;
  /** Messages acknowledged with success. */
  acked: number;
  /** Messages the broker refused (PUBACK reason code >= 0x80); they stay in the outbox. */
  rejected: number;
  /** Connection attempts after the first. */
  reconnects: number;
  /** Messages published and not yet acknowledged. */
  inflight: number;
  lastError: string | undefined;
  /** Readings in published messages, including resends. */
  publishedReadings: number;
  ackedReadings: number;
  protocolVersion: 4 | 5;
}

type MessageHandler = (topic: string, payload: Buffer) => void;

/**
 * Drains the outbox to the broker: MQTT QoS 1, at most `inflightWindow` unacknowledged messages,
 * each acked message deleted from the outbox only on a successful PUBACK. The outbox owns retries:
 * MQTT.js never reconnects by itself (reconnectPeriod 0) and its in-memory queue is thrown away with
 * the client on every disconnect; after a reconnect the outbox's unacked batches go first, with
 * their seqs, then new batches (events before telemetry). Reconnects use capped exponential
 * backoff with full jitter, reset once a connection has been stable.
 */
export class Forwarder {
  private readonly opts: ForwarderOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly backoff: Backoff;
  private readonly topics: Record<Stream, string>;
  private readonly statusTopic: string;
  private readonly subscriptions = new Map<string, Set<MessageHandler>>();
  /** Latest retained payload per topic besides the status, re-published on every connection. */
  private readonly retained = new Map<string, string>();
  private secrets: ConnectionSecrets | undefined;
  private protocolVersion: 4 | 5;
  private client: MqttClient | undefined;
  /** Identifies the current client; callbacks of an older one are ignored. */
  private epoch = 0;
  private connected = false;
  private running = false;
  private startedAt = 0;
  private readonly window = new Map<number, Batch>();
  private resend: Batch[] = [];
  private retryNow = false;
  private unsubscribeCommit: (() => void) | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private readonly counters = { published: 0, acked: 0, rejected: 0, reconnects: 0, publishedReadings: 0, ackedReadings: 0 };
  private lastError: string | undefined;

  constructor(opts: ForwarderOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.protocolVersion = opts.protocolVersion ?? 5;
    const { config, gatewayId } = opts;
    this.backoff = new Backoff({ minMs: config.reconnectMinMs, maxMs: config.reconnectMaxMs, random: opts.random ?? Math.random });
    this.topics = { events: topicFor(gatewayId, Channel.events, config.topicPrefix), telemetry: topicFor(gatewayId, Channel.telemetry, config.topicPrefix) };
    this.statusTopic = topicFor(gatewayId, Channel.status, config.topicPrefix);
  }

  /** Reads credentials and TLS files (throws EDGE_FORWARD_CONFIG), then connects in the background, retrying forever. */
  start(): void {
    if (this.running) return;
    this.secrets = loadConnectionSecrets(this.opts.config);
    this.running = true;
    this.startedAt = this.now();
    this.unsubscribeCommit = this.opts.outbox.onCommit(() => this.schedulePump());
    this.connect();
  }

  /** Publishes the retained offline status (when connected) and disconnects cleanly. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribeCommit?.();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.statusTimer);
    const client = this.client;
    const wasConnected = this.connected;
    this.client = undefined;
    this.connected = false;
    if (!client) return;
    const timeoutMs = this.opts.stopTimeoutMs ?? 2000;
    if (wasConnected) {
      await withTimeout(timeoutMs, (done) => client.publish(this.statusTopic, this.statusPayload('offline'), { qos: 1, retain: true }, () => done()));
      await withTimeout(timeoutMs, (done) => client.end(false, {}, () => done()));
    }
    this.epoch++;
    this.discard(client);
    this.window.clear();
    this.log.info({ published: this.counters.published, acked: this.counters.acked }, 'forwarder stopped');
  }

  stats(): ForwarderStats {
    return { connected: this.connected, ...this.counters, inflight: this.window.size, lastError: this.lastError, protocolVersion: this.protocolVersion };
  }

  /** Subscribes (QoS 1) to a filter now and after every reconnect. Returns an unsubscribe function. */
  subscribe(filter: string, handler: MessageHandler): () => void {
    let handlers = this.subscriptions.get(filter);
    if (!handlers) {
      handlers = new Set();
      this.subscriptions.set(filter, handlers);
      if (this.connected) this.client?.subscribe(filter, { qos: 1 }, (err) => err && this.log.warn({ filter, err: err.message }, 'subscribe failed'));
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
   * state such as the configuration report; data goes through the outbox.
   */
  retain(channel: Channel, payload: string): void {
    const topic = topicFor(this.opts.gatewayId, channel, this.opts.config.topicPrefix);
    this.retained.set(topic, payload);
    this.publishRetained(topic, payload);
  }

  private publishRetained(topic: string, payload: string): void {
    if (!this.connected) return;
    this.client?.publish(topic, payload, { qos: 1, retain: true }, (err) => {
      if (err) this.log.debug({ topic, err: err.message }, 'retained publish failed; sent again on reconnect');
    });
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (!this.running) return;
    const epoch = ++this.epoch;
    const { config } = this.opts;
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
    let client: MqttClient;
    try {
      client = mqtt.connect(config.brokerUrl, options);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.error({ broker: redactBrokerUrl(config.brokerUrl), err: this.lastError }, 'cannot create the MQTT client');
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
    this.log.info({ broker: redactBrokerUrl(this.opts.config.brokerUrl), protocolVersion: this.protocolVersion, attempts: this.backoff.attempts }, 'connected to the broker');
    this.stableTimer = setTimeout(() => this.backoff.reset(), this.opts.stableAfterMs ?? 10_000);
    this.publishStatus();
    for (const [topic, payload] of this.retained) this.publishRetained(topic, payload);
    this.statusTimer = setInterval(() => this.publishStatus(), this.opts.config.statusIntervalMs);
    for (const filter of this.subscriptions.keys()) {
      this.client?.subscribe(filter, { qos: 1 }, (err) => err && this.log.warn({ filter, err: err.message }, 'subscribe failed'));
    }
    this.resend = this.opts.outbox.inflight();
    this.pump();
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
      this.log.warn({ err: err.message, code, connected: this.connected }, 'broker connection error');
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
    const unacked = this.window.size;
    this.window.clear();
    this.resend = [];
    const delay = this.retryNow ? 0 : this.backoff.next();
    this.retryNow = false;
    this.counters.reconnects++;
    if (wasConnected) this.log.warn({ unacked, reconnectInMs: delay, err: this.lastError }, 'lost the broker connection; unacked messages stay in the outbox');
    else this.log.debug({ reconnectInMs: delay, attempt: this.backoff.attempts, err: this.lastError }, 'broker connection failed; retrying');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
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

  private schedulePump(): void {
    if (this.pumpScheduled || !this.connected) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Fills the window: unacked batches from before the (re)connect first, then new ones. */
  private pump(): void {
    const window = this.opts.config.inflightWindow;
    while (this.connected && this.running && this.window.size < window) {
      let batch = this.resend.shift();
      if (!batch) {
        const fresh = this.opts.outbox.takeBatches(window - this.window.size, this.opts.config.maxBatchReadings);
        if (fresh.length === 0) return;
        this.resend = fresh;
        batch = this.resend.shift() as Batch;
      }
      if (!this.window.has(batch.seq)) this.publish(batch);
    }
  }

  private publish(batch: Batch): void {
    const client = this.client;
    if (!client) return;
    const epoch = this.epoch;
    this.window.set(batch.seq, batch);
    this.counters.published++;
    if (batch.stream === 'telemetry') this.counters.publishedReadings += batch.count;
    client.publish(this.topics[batch.stream], batch.payload, { qos: 1 }, (err) => {
      if (epoch !== this.epoch || !this.window.delete(batch.seq)) return;
      if (err) {
        this.refused(epoch, batch, err as Error & { code?: unknown });
        return;
      }
      this.counters.acked++;
      if (batch.stream === 'telemetry') this.counters.ackedReadings += batch.count;
      this.opts.outbox.ack(batch.seq);
      this.schedulePump();
    });
  }

  /** A failed PUBACK is not an ack: the batch stays in the outbox, and the connection backs off. */
  private refused(epoch: number, batch: Batch, err: Error & { code?: unknown }): void {
    const reasonCode = typeof err.code === 'number' ? err.code : undefined;
    if (reasonCode !== undefined) this.counters.rejected++;
    this.lastError = err.message;
    this.log.warn({ seq: batch.seq, stream: batch.stream, reasonCode, err: err.message }, 'the broker did not accept a message; keeping it and reconnecting with backoff');
    clearTimeout(this.stableTimer);
    this.connectionLost(epoch);
  }

  private publishStatus(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    client.publish(this.statusTopic, this.statusPayload('online'), { qos: 1, retain: true }, (err) => {
      if (err) this.log.debug({ err: err.message }, 'status publish failed');
    });
  }

  private statusPayload(state: 'online' | 'offline'): string {
    let extra: { configVersion?: number; devicesFailing?: number } = {};
    try {
      extra = this.opts.status();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'status callback threw');
    }
    const ob = this.opts.outbox.stats();
    const status: StatusMessage = {
      v: 1,
      gw: this.opts.gatewayId,
      state,
      ts: this.now(),
      agentVersion: this.opts.agentVersion,
      backlog: ob.backlogRows + ob.pending,
      startedAt: this.startedAt,
      ...(extra.configVersion !== undefined && { configVersion: extra.configVersion }),
      ...(extra.devicesFailing !== undefined && { devicesFailing: extra.devicesFailing }),
    };
    return encodeStatus(status);
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const [filter, handlers] of this.subscriptions) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of handlers) {
        try {
          handler(topic, payload);
        } catch (err) {
          this.log.error({ topic, err: (err as Error).message }, 'message handler threw');
        }
      }
    }
  }
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
