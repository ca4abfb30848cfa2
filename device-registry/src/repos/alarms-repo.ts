import type { Kysely, Selectable } from 'kysely';
import type { AlarmState, EventSeverity } from '@cityedge/contract';
import type { AlarmHistoryTable, AlarmKeysTable, AlarmsTable } from '../db/ops-schema.js';
import type { RegistryTables } from '../db/schema.js';
import { affected } from './json.js';

/**
 * Where an alarm occurrence is in the ISA-18.2 life cycle: `raised` (active, unacknowledged),
 * `acknowledged` (active, acknowledged), `cleared` (returned to normal, not yet acknowledged),
 * `closed` (cleared and acknowledged).
 */
export type AlarmLifecycle = 'raised' | 'acknowledged' | 'cleared' | 'closed';
export const ALARM_LIFECYCLE: readonly AlarmLifecycle[] = ['raised', 'acknowledged', 'cleared', 'closed'];

export function lifecycleOf(a: { clearedAt: number | null; acknowledgedAt: number | null }): AlarmLifecycle {
  if (a.clearedAt === null) return a.acknowledgedAt === null ? 'raised' : 'acknowledged';
  return a.acknowledgedAt === null ? 'cleared' : 'closed';
}

export interface AlarmRecord {
  id: number;
  gatewayId: string;
  /** The gateway's site, if it has one. */
  siteId: string | null;
  key: string;
  dev: string | null;
  state: AlarmLifecycle;
  severity: EventSeverity;
  level: string | null;
  message: string;
  /** Gateway time of the raise that opened the occurrence. */
  raisedAt: number;
  raisedSeq: number;
  /** Raises after the first while it stayed active. */
  reraiseCount: number;
  clearedAt: number | null;
  clearedSeq: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  ackNote: string | null;
  updatedAt: number;
}

export type NewAlarm = Omit<AlarmRecord, 'id' | 'siteId' | 'state'>;
export type AlarmChange = Partial<Pick<AlarmRecord, 'severity' | 'level' | 'message' | 'dev' | 'raisedAt' | 'reraiseCount' | 'clearedAt' | 'clearedSeq' | 'acknowledgedAt' | 'acknowledgedBy' | 'ackNote'>>;

export interface AlarmHistoryEntry {
  ts: number;
  action: 'raised' | 're-raised' | 'cleared' | 'acknowledged';
  /** `gateway:<id>` or the account or token name. */
  actor: string;
  seq: number | null;
  severity: EventSeverity | null;
  level: string | null;
  message: string | null;
  note: string | null;
}

export interface AlarmKeyState {
  state: AlarmState;
  seq: number;
  idx: number;
  ts: number;
}

/** `open`: every state but closed. */
export type AlarmStateFilter = AlarmLifecycle | 'open' | 'all';

export interface AlarmQuery {
  state: AlarmStateFilter;
  siteId?: string;
  gatewayId?: string;
  severity?: EventSeverity;
  /** Only ids below this (paging, newest first). */
  before?: number;
  limit: number;
}

type AlarmRow = Selectable<AlarmsTable> & { site_id: string | null };

const toAlarm = (r: AlarmRow): AlarmRecord => {
  const a = {
    id: Number(r.id),
    gatewayId: r.gateway_id,
    siteId: r.site_id,
    key: r.alarm_key,
    dev: r.device_id,
    severity: r.severity as EventSeverity,
    level: r.level,
    message: r.message,
    raisedAt: Number(r.raised_at),
    raisedSeq: Number(r.raised_seq),
    reraiseCount: r.reraise_count,
    clearedAt: r.cleared_at === null ? null : Number(r.cleared_at),
    clearedSeq: r.cleared_seq === null ? null : Number(r.cleared_seq),
    acknowledgedAt: r.acknowledged_at === null ? null : Number(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    ackNote: r.ack_note,
    updatedAt: Number(r.updated_at),
  };
  return { ...a, state: lifecycleOf(a) };
};

const toHistory = (r: Selectable<AlarmHistoryTable>): AlarmHistoryEntry => ({
  ts: Number(r.ts),
  action: r.action as AlarmHistoryEntry['action'],
  actor: r.actor,
  seq: r.seq === null ? null : Number(r.seq),
  severity: r.severity as EventSeverity | null,
  level: r.level,
  message: r.message,
  note: r.note,
});

const toKeyState = (r: Selectable<AlarmKeysTable>): AlarmKeyState => ({ state: r.state as AlarmState, seq: Number(r.seq), idx: r.idx, ts: Number(r.ts) });

export class AlarmsRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  private select() {
    return this.db.selectFrom('alarms').leftJoin('gateways', 'gateways.id', 'alarms.gateway_id').selectAll('alarms').select('gateways.site_id');
  }

  async get(id: number): Promise<AlarmRecord | undefined> {
    const r = await this.select().where('alarms.id', '=', id).executeTakeFirst();
    return r ? toAlarm(r) : undefined;
  }

  /** The occurrence of (gateway, key) that is still active (not cleared), if any. */
  async active(gatewayId: string, key: string): Promise<AlarmRecord | undefined> {
    const r = await this.select().where('alarms.gateway_id', '=', gatewayId).where('alarms.alarm_key', '=', key).where('alarms.cleared_at', 'is', null).executeTakeFirst();
    return r ? toAlarm(r) : undefined;
  }

  /** The newest occurrence of a key, active or not. */
  async latest(gatewayId: string, key: string): Promise<AlarmRecord | undefined> {
    const r = await this.select().where('alarms.gateway_id', '=', gatewayId).where('alarms.alarm_key', '=', key).orderBy('alarms.id', 'desc').executeTakeFirst();
    return r ? toAlarm(r) : undefined;
  }

  /** The occurrence a given clear (by its seq) ended, if any. */
  async clearedBy(gatewayId: string, key: string, seq: number): Promise<AlarmRecord | undefined> {
    const r = await this.select().where('alarms.gateway_id', '=', gatewayId).where('alarms.alarm_key', '=', key).where('alarms.cleared_seq', '=', seq).orderBy('alarms.id', 'desc').executeTakeFirst();
    return r ? toAlarm(r) : undefined;
  }

  async insert(a: NewAlarm): Promise<number> {
    const r = await this.db
      .insertInto('alarms')
      .values({
        gateway_id: a.gatewayId,
        alarm_key: a.key,
        device_id: a.dev,
        state: lifecycleOf(a),
        severity: a.severity,
        level: a.level,
        message: a.message,
        raised_at: a.raisedAt,
        raised_seq: a.raisedSeq,
        reraise_count: a.reraiseCount,
        cleared_at: a.clearedAt,
        cleared_seq: a.clearedSeq,
        acknowledged_at: a.acknowledgedAt,
        acknowledged_by: a.acknowledgedBy,
        ack_note: a.ackNote,
        updated_at: a.updatedAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  /**
   * Writes only the fields in `change`, so a concurrent acknowledgement is never overwritten; the
   * stored state is computed in the statement from the row as it is then.
   */
  async update(id: number, change: AlarmChange, now: number): Promise<void> {
    const set: Record<string, unknown> = { updated_at: now };
    const columns: Record<keyof AlarmChange, string> = {
      severity: 'severity',
      level: 'level',
      message: 'message',
      dev: 'device_id',
      raisedAt: 'raised_at',
      reraiseCount: 'reraise_count',
      clearedAt: 'cleared_at',
      clearedSeq: 'cleared_seq',
      acknowledgedAt: 'acknowledged_at',
      acknowledgedBy: 'acknowledged_by',
      ackNote: 'ack_note',
    };
    for (const [k, v] of Object.entries(change)) if (v !== undefined) set[columns[k as keyof AlarmChange]] = v;
    await this.db
      .updateTable('alarms')
      .set((eb) => {
        // Typed: PostgreSQL cannot infer the type of a bare parameter in `$1 is null`.
        const cleared = change.clearedAt !== undefined ? eb.cast(eb.val(change.clearedAt), 'bigint') : eb.ref('cleared_at');
        const acked = change.acknowledgedAt !== undefined ? eb.cast(eb.val(change.acknowledgedAt), 'bigint') : eb.ref('acknowledged_at');
        const state = eb
          .case()
          .when(eb.and([eb(cleared, 'is', null), eb(acked, 'is', null)]))
          .then('raised')
          .when(eb(cleared, 'is', null))
          .then('acknowledged')
          .when(eb(acked, 'is', null))
          .then('cleared')
          .else('closed')
          .end();
        return { ...set, state };
      })
      .where('id', '=', id)
      .execute();
  }

  /** Acknowledges an occurrence not acknowledged yet; false when it already was (or does not exist). */
  async acknowledge(id: number, a: { by: string; note: string | null; now: number }): Promise<boolean> {
    const r = await this.db
      .updateTable('alarms')
      .set((eb) => ({
        acknowledged_at: a.now,
        acknowledged_by: a.by,
        ack_note: a.note,
        updated_at: a.now,
        state: eb.case().when('cleared_at', 'is', null).then('acknowledged').else('closed').end(),
      }))
      .where('id', '=', id)
      .where('acknowledged_at', 'is', null)
      .executeTakeFirst();
    return affected(r) > 0;
  }

  async addHistory(alarmId: number, e: AlarmHistoryEntry): Promise<void> {
    await this.db
      .insertInto('alarm_history')
      .values({ alarm_id: alarmId, ts: e.ts, action: e.action, actor: e.actor, seq: e.seq, severity: e.severity, level: e.level, message: e.message, note: e.note })
      .execute();
  }

  /** Oldest first. */
  async history(alarmId: number): Promise<AlarmHistoryEntry[]> {
    return (await this.db.selectFrom('alarm_history').selectAll().where('alarm_id', '=', alarmId).orderBy('id', 'asc').execute()).map(toHistory);
  }

  async keyState(gatewayId: string, key: string): Promise<AlarmKeyState | undefined> {
    const r = await this.db.selectFrom('alarm_keys').selectAll().where('gateway_id', '=', gatewayId).where('alarm_key', '=', key).executeTakeFirst();
    return r ? toKeyState(r) : undefined;
  }

  /**
   * Records `s` as the newest transition of (gateway, key) unless a newer one (by seq, idx) is
   * there: true when it was recorded. One statement, so concurrent ingest transactions decide in
   * turn (the key's row is locked until the deciding one commits).
   */
  async advanceKey(gatewayId: string, key: string, s: AlarmKeyState): Promise<boolean> {
    const r = await this.db
      .insertInto('alarm_keys')
      .values({ gateway_id: gatewayId, alarm_key: key, state: s.state, seq: s.seq, idx: s.idx, ts: s.ts })
      .onConflict((oc) =>
        oc
          .columns(['gateway_id', 'alarm_key'])
          .doUpdateSet({ state: s.state, seq: s.seq, idx: s.idx, ts: s.ts })
          .where((eb) => eb.or([eb('alarm_keys.seq', '<', s.seq), eb.and([eb('alarm_keys.seq', '=', s.seq), eb('alarm_keys.idx', '<=', s.idx)])])),
      )
      .returning('seq')
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Newest first (by id). */
  async list(q: AlarmQuery): Promise<AlarmRecord[]> {
    let s = this.select().orderBy('alarms.id', 'desc').limit(q.limit);
    if (q.state === 'open') s = s.where('alarms.state', '!=', 'closed');
    else if (q.state !== 'all') s = s.where('alarms.state', '=', q.state);
    if (q.siteId !== undefined) s = s.where('gateways.site_id', '=', q.siteId);
    if (q.gatewayId !== undefined) s = s.where('alarms.gateway_id', '=', q.gatewayId);
    if (q.severity !== undefined) s = s.where('alarms.severity', '=', q.severity);
    if (q.before !== undefined) s = s.where('alarms.id', '<', q.before);
    return (await s.execute()).map(toAlarm);
  }
}
