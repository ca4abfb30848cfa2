import type { Logger } from 'pino';
import { Channel, type Stream } from '@cityedge/contract';
import type { Batch, Outbox } from '../store/outbox.js';
import { PublishError, type MqttSession } from '../mqtt/mqtt-session.js';

/** What the drain needs of the outbox. */
export type DrainOutbox = Pick<Outbox, 'takeInflight' | 'takeBatches' | 'ack' | 'onCommit' | 'batchAhead'>;

/** What the drain needs of the session. */
export type DrainSession = Pick<MqttSession, 'publish' | 'onConnection' | 'dropConnection' | 'topic' | 'isConnected'>;

export interface OutboxDrainOptions {
  outbox: DrainOutbox;
  session: DrainSession;
  logger: Logger;
  /** Readings per telemetry message. */
  maxBatchReadings: number;
  /** Messages published and not yet acknowledged at once. */
  inflightWindow: number;
  /**
   * Called when the drain has caught up after sending at least `backlogReadings` readings without
   * catching up (a backlog, after an outage): the moment to give back the memory that took.
   */
  onBacklogSent?: (readings: number) => void;
  /** Default 50,000. */
  backlogReadings?: number;
}

export interface OutboxDrainStats {
  /** Messages published, including resends. */
  published: number;
  /** Messages acknowledged with success. */
  acked: number;
  /** Messages the broker refused (PUBACK reason code >= 0x80); they stay in the outbox. */
  rejected: number;
  /** Messages published and not yet acknowledged. */
  inflight: number;
  /** Readings in published messages, including resends. */
  publishedReadings: number;
  ackedReadings: number;
}

const STREAM_CHANNEL: Record<Stream, Channel> = { events: Channel.events, telemetry: Channel.telemetry };

/**
 * Drains the outbox to the broker over the session: QoS 1, at most `inflightWindow`
 * unacknowledged messages, each deleted from the outbox only on a successful PUBACK. After a
 * reconnect the outbox's unacked batches go first, with their seqs, then new batches (events
 * before telemetry). A refused PUBACK keeps the batch and makes the session reconnect with
 * backoff. The drain holds nothing the outbox does not: a restart loses no message.
 */
export class OutboxDrain {
  readonly name = 'outbox drain';
  private readonly opts: OutboxDrainOptions;
  private readonly log: Logger;
  private maxBatchReadings: number;
  private inflightWindow: number;
  private readonly window = new Map<number, Batch>();
  private resend: Batch[] = [];
  /** Counts connections: acks of a lost connection are not acks. */
  private generation = 0;
  private running = false;
  private pumpScheduled = false;
  private unsubscribe: Array<() => void> = [];
  /** Readings published since the drain last had nothing left to send. */
  private sentSinceCaughtUp = 0;
  private readonly counters = { published: 0, acked: 0, rejected: 0, publishedReadings: 0, ackedReadings: 0 };

  constructor(opts: OutboxDrainOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.maxBatchReadings = opts.maxBatchReadings;
    this.inflightWindow = opts.inflightWindow;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = [this.opts.outbox.onCommit(() => this.schedulePump()), this.opts.session.onConnection((up) => (up ? this.connectionUp() : this.connectionLost()))];
    // Each commit makes the batches the window has room for in its own transaction (one fsync per poll cycle).
    this.opts.outbox.batchAhead(() => (this.running && this.opts.session.isConnected ? { maxMessages: this.inflightWindow - this.window.size - this.resend.length, maxReadings: this.maxBatchReadings } : undefined));
    this.unsubscribe.push(() => this.opts.outbox.batchAhead(undefined));
    if (this.opts.session.isConnected) this.connectionUp();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    this.connectionLost();
    this.log.info({ published: this.counters.published, acked: this.counters.acked }, 'outbox drain stopped');
  }

  /** Batch size and window, changed in place (taking effect with the next batches). */
  reconfigure(settings: { maxBatchReadings: number; inflightWindow: number }): void {
    this.maxBatchReadings = settings.maxBatchReadings;
    this.inflightWindow = settings.inflightWindow;
    this.schedulePump();
  }

  stats(): OutboxDrainStats {
    return { ...this.counters, inflight: this.window.size };
  }

  private connectionUp(): void {
    this.generation++;
    this.window.clear();
    this.resend = this.opts.outbox.takeInflight();
    this.pump();
  }

  private connectionLost(): void {
    this.generation++;
    const unacked = this.window.size;
    this.window.clear();
    this.resend = [];
    if (unacked > 0) this.log.debug({ unacked }, 'connection lost with messages in flight; they stay in the outbox');
  }

  private schedulePump(): void {
    if (this.pumpScheduled || !this.running || !this.opts.session.isConnected) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Fills the window: unacked batches from before the (re)connect first, then new ones. */
  private pump(): void {
    while (this.running && this.opts.session.isConnected && this.window.size < this.inflightWindow) {
      let batch = this.resend.shift();
      if (!batch) {
        const fresh = this.opts.outbox.takeBatches(this.inflightWindow - this.window.size, this.maxBatchReadings);
        if (fresh.length === 0) return this.caughtUp();
        this.resend = fresh;
        batch = this.resend.shift() as Batch;
      }
      if (!this.window.has(batch.seq)) this.publish(batch);
    }
  }

  private publish(batch: Batch): void {
    const generation = this.generation;
    this.window.set(batch.seq, batch);
    this.counters.published++;
    if (batch.stream === 'telemetry') {
      this.counters.publishedReadings += batch.count;
      this.sentSinceCaughtUp += batch.count;
    }
    this.opts.session.publish(this.opts.session.topic(STREAM_CHANNEL[batch.stream]), batch.payload).then(
      () => {
        if (generation !== this.generation || !this.window.delete(batch.seq)) return;
        this.counters.acked++;
        if (batch.stream === 'telemetry') this.counters.ackedReadings += batch.count;
        this.opts.outbox.ack(batch.seq);
        this.schedulePump();
      },
      (err: unknown) => {
        if (generation !== this.generation || !this.window.delete(batch.seq)) return;
        this.refused(batch, err);
      },
    );
  }

  /** Nothing is left to send but what is in flight. */
  private caughtUp(): void {
    const sent = this.sentSinceCaughtUp;
    this.sentSinceCaughtUp = 0;
    if (sent >= (this.opts.backlogReadings ?? 50_000)) this.opts.onBacklogSent?.(sent);
  }

  /** A failed PUBACK is not an ack: the batch stays in the outbox, and the connection backs off. */
  private refused(batch: Batch, err: unknown): void {
    const reasonCode = err instanceof PublishError ? err.reasonCode : undefined;
    if (reasonCode !== undefined) this.counters.rejected++;
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn({ seq: batch.seq, stream: batch.stream, reasonCode, err }, 'the broker did not accept a message; keeping it and reconnecting with backoff');
    this.opts.session.dropConnection(message);
  }
}
