import type { Logger } from 'pino';
import type { GatewayEvent, Reading } from '@cityedge/contract';
import type { ReadingSink } from '../poll/device-poller.js';

/** A consumer of what the gateway's sources and rules produce. */
export interface BusConsumer {
  readonly name: string;
  readings?(readings: Reading[]): void;
  event?(event: GatewayEvent): void;
}

/**
 * Carries every reading and event a source or a rule produces to the outbox (always first: what
 * is durable does not wait for anything else) and to the other consumers (rules, the command
 * handler's read-backs). A consumer never gets back what it produced itself, and one that throws
 * is logged, never allowed to stop the others.
 */
export class ReadingBus {
  private readonly consumers: BusConsumer[] = [];

  constructor(
    private readonly durable: ReadingSink,
    private readonly log: Logger,
  ) {}

  /** Adds a consumer after the outbox; returns a function that removes it. */
  subscribe(consumer: BusConsumer): () => void {
    this.consumers.push(consumer);
    return () => {
      const i = this.consumers.indexOf(consumer);
      if (i >= 0) this.consumers.splice(i, 1);
    };
  }

  /** The sink a producer writes to; `origin` keeps its own output from coming back to it. */
  sink(origin?: BusConsumer): ReadingSink {
    return {
      appendReadings: (readings) => this.readings(readings, origin),
      appendEvent: (event) => this.event(event, origin),
    };
  }

  readings(readings: Reading[], origin?: BusConsumer): void {
    if (readings.length === 0) return;
    this.durable.appendReadings(readings);
    for (const c of this.consumers) {
      if (c === origin || !c.readings) continue;
      try {
        c.readings(readings);
      } catch (err) {
        this.log.error({ err, consumer: c.name }, 'a reading consumer threw');
      }
    }
  }

  event(event: GatewayEvent, origin?: BusConsumer): void {
    this.durable.appendEvent(event);
    for (const c of this.consumers) {
      if (c === origin || !c.event) continue;
      try {
        c.event(event);
      } catch (err) {
        this.log.error({ err, consumer: c.name }, 'an event consumer threw');
      }
    }
  }
}
