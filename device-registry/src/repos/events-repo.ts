import type { Kysely, Selectable } from 'kysely';
import type { AlarmTransition, EventSeverity } from '@cityedge/contract';
import type { EventsTable } from '../db/ops-schema.js';
import type { RegistryTables } from '../db/schema.js';
import { parseJson } from './json.js';

/** An event as stored, with where it came from. */
export interface StoredEvent {
  gatewayId: string;
  seq: number;
  /** Position in its message. */
  idx: number;
  type: string;
  ts: number;
  severity: EventSeverity;
  dev: string | null;
  message: string;
  data: Record<string, unknown> | null;
  /** The alarm transition the event carried explicitly (built-in mappings are not stored here). */
  alarm: AlarmTransition | null;
  receivedAt: number;
}

/** Newest first by (seq, idx): the order the gateway produced them in. */
export interface EventQuery {
  gatewayId: string;
  /** Exact type, or a prefix ending in `.*` (e.g. `command.*`). */
  type?: string;
  severity?: EventSeverity;
  /** Gateway time bounds, inclusive `since`, exclusive `until`. */
  since?: number;
  until?: number;
  /** Only events older than this position (paging). */
  before?: { seq: number; idx: number };
  limit: number;
}

const toEvent = (r: Selectable<EventsTable>): StoredEvent => ({
  gatewayId: r.gateway_id,
  seq: Number(r.seq),
  idx: r.idx,
  type: r.type,
  ts: Number(r.ts),
  severity: r.severity as EventSeverity,
  dev: r.device_id,
  message: r.message,
  data: parseJson<Record<string, unknown> | null>(r.data, null),
  alarm: parseJson<AlarmTransition | null>(r.alarm, null),
  receivedAt: Number(r.received_at),
});

/** Rows per INSERT: 11 parameters each stays well under SQLite's and PostgreSQL's limits. */
const CHUNK = 500;

export class EventsRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  /**
   * Claims (gateway, seq) for an events message: true the first time, false when that message
   * was stored before (an MQTT redelivery, another ingest consumer). Call inside the transaction
   * that stores its events and their effects, so a message counts once or not at all.
   */
  async claimBatch(gatewayId: string, seq: number, events: number, receivedAt: number): Promise<boolean> {
    const marker = await this.db
      .insertInto('event_batches')
      .values({ gateway_id: gatewayId, seq, events, received_at: receivedAt })
      .onConflict((oc) => oc.columns(['gateway_id', 'seq']).doNothing())
      .returning('seq')
      .executeTakeFirst();
    return marker !== undefined;
  }

  async insert(events: readonly StoredEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += CHUNK) {
      const rows = events.slice(start, start + CHUNK).map((e) => ({
        gateway_id: e.gatewayId,
        seq: e.seq,
        idx: e.idx,
        type: e.type,
        ts: e.ts,
        severity: e.severity,
        device_id: e.dev,
        message: e.message,
        data: e.data === null ? null : JSON.stringify(e.data),
        alarm: e.alarm === null ? null : JSON.stringify(e.alarm),
        received_at: e.receivedAt,
      }));
      await this.db.insertInto('events').values(rows).execute();
    }
  }

  async list(q: EventQuery): Promise<StoredEvent[]> {
    let s = this.db.selectFrom('events').selectAll().where('gateway_id', '=', q.gatewayId).orderBy('seq', 'desc').orderBy('idx', 'desc').limit(q.limit);
    if (q.type !== undefined) {
      // A prefix is compared with substr, not LIKE: '_' in a type is a LIKE wildcard.
      const prefix = q.type.endsWith('.*') ? q.type.slice(0, -1) : undefined;
      s = prefix === undefined ? s.where('type', '=', q.type) : s.where((eb) => eb(eb.fn('substr', ['type', eb.lit(1), eb.lit(prefix.length)]), '=', prefix));
    }
    if (q.severity !== undefined) s = s.where('severity', '=', q.severity);
    if (q.since !== undefined) s = s.where('ts', '>=', q.since);
    if (q.until !== undefined) s = s.where('ts', '<', q.until);
    const b = q.before;
    if (b !== undefined) s = s.where((eb) => eb.or([eb('seq', '<', b.seq), eb.and([eb('seq', '=', b.seq), eb('idx', '<', b.idx)])]));
    return (await s.execute()).map(toEvent);
  }
}
