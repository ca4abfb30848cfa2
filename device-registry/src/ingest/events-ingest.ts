import { Channel } from '@cityedge/contract';
import { EventsEnvelope } from '@cityedge/contract';
import { parseGatewayEvent } from './event-payloads.js';
import type { EventsSink, IndexedEvent } from './ports.js';
import { SequencedIngest, type SequencedIngestCounters, type SequencedIngestOptions } from './sequenced-ingest.js';

export interface EventsIngestOptions extends SequencedIngestOptions {
  sink: EventsSink;
}

export interface EventsIngestStats extends SequencedIngestCounters {
  /** Events in the stored messages. */
  events: number;
  /** Events of a stored message that failed their check and were left out. */
  badEvents: number;
}

type Envelope = { v: 1; gw: string; seq: number; events: unknown[] };

/**
 * The central events consumer: `{prefix}/+/events` (shared when a group is set), each
 * EventsMessage stored once by (gw, seq) through the EventsSink, which applies alarm transitions
 * and command results in the same transaction; acknowledged only after it committed (see
 * SequencedIngest). Events are checked one by one: a bad one is counted and left out, the
 * others are stored.
 */
export class EventsIngest extends SequencedIngest<Envelope> {
  private events = 0;
  private badEvents = 0;

  constructor(private readonly options: EventsIngestOptions) {
    super({ maxPayloadBytes: 4 * 1024 * 1024, ...options }, Channel.events, EventsEnvelope);
  }

  stats(): EventsIngestStats {
    return { ...this.counters, events: this.events, badEvents: this.badEvents };
  }

  protected async store(msg: Envelope): Promise<boolean> {
    const good: IndexedEvent[] = [];
    const bad: string[] = [];
    msg.events.forEach((raw, idx) => {
      const r = parseGatewayEvent(raw);
      if (r.ok) good.push({ idx, event: r.value });
      else bad.push(`events[${idx}].${r.problem}`);
    });
    const fresh = await this.options.sink.insertEventsBatch(msg.gw, msg.seq, good);
    if (fresh) {
      this.events += good.length;
      this.badEvents += bad.length;
      if (bad.length > 0) this.log.warn({ gw: msg.gw, seq: msg.seq, problems: bad.slice(0, 5) }, 'events that failed their check were left out');
    }
    return fresh;
  }
}
