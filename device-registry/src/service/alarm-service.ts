import { alarmTransitions, siteAcknowledgement, type AlarmTransition, type EventSeverity } from '@cityedge/contract';
import type { Repos, RegistryStore } from '../db/store.js';
import { conflict, notFound } from '../errors.js';
import type { AlarmHistoryEntry, AlarmQuery, AlarmRecord } from '../repos/alarms-repo.js';
import type { StoredEvent } from '../repos/events-repo.js';
import { actorLabel, type CallContext, type ServiceDeps } from './context.js';

const SEVERITY_RANK: Record<EventSeverity, number> = { info: 0, warning: 1, alarm: 2, critical: 3 };

export interface AlarmView extends AlarmRecord {
  history: AlarmHistoryEntry[];
}


/**
 * Alarms from the events gateways send, with the ISA-18.2 life cycle: one occurrence per
 * (gateway, key) from a raise until it is both cleared by the gateway and acknowledged by a
 * person. A raise while the occurrence is active counts as a re-raise (a new level or a higher
 * severity makes it unacknowledged again: the escalation must be seen); a raise after a clear
 * opens a new occurrence. Acknowledging does not end an active alarm: only its clear does.
 *
 * Transitions are applied in the transaction that stores their event, so each counts exactly
 * once. Events of one gateway can arrive out of order (several ingest consumers on a shared
 * subscription): per key the newest transition by (seq, idx) decides whether the condition is
 * active, an older raise is attributed to the occurrence its later clear ended, and an older
 * clear never ends a newer raise.
 */
export class AlarmService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
  ) {}

  /** Applies the alarm transitions of one stored event, inside the caller's transaction; the ids of the alarms changed. */
  async applyEvent(tx: Repos, e: StoredEvent): Promise<number[]> {
    const changed: number[] = [];
    for (const t of alarmTransitions({ type: e.type, ...(e.dev !== null && { dev: e.dev }), ...(e.alarm && { alarm: e.alarm }) })) {
      const id = await this.apply(tx, e, t);
      if (id !== undefined) changed.push(id);
    }
    const ack = siteAcknowledgement(e);
    if (ack) {
      const id = await this.acknowledgedAtSite(tx, e, ack);
      if (id !== undefined) changed.push(id);
    }
    return changed;
  }

  /** The alarms (as the alarms API returns them) to the event streams, after their transaction committed. */
  async publish(ids: Iterable<number>): Promise<void> {
    if (!this.deps.hub.wants('alarms')) return;
    for (const id of new Set(ids)) {
      const a = await this.store.alarms.get(id);
      if (a) this.deps.hub.publish('alarms', a.gatewayId, a);
    }
  }

  /**
   * A technician acknowledged a rule alarm at the gateway (`alarm.ack`): the occurrence it
   * acknowledged is acknowledged here too, by that person at that gateway, unless someone
   * already did. The occurrence is the one active when the acknowledgement happened: the newest
   * one, if it was raised before and not cleared before the acknowledgement.
   */
  private async acknowledgedAtSite(tx: Repos, e: StoredEvent, ack: { key: string; actor: string }): Promise<number | undefined> {
    const target = await tx.alarms.latest(e.gatewayId, ack.key);
    if (!target || target.raisedAt > e.ts || (target.clearedAt !== null && target.clearedAt < e.ts)) {
      this.deps.logger.debug({ gatewayId: e.gatewayId, key: ack.key, seq: e.seq }, 'an acknowledgement at the gateway for an alarm central does not have open');
      return undefined;
    }
    const by = `${ack.actor} at ${e.gatewayId}`;
    if (!(await tx.alarms.acknowledge(target.id, { by, note: null, now: e.ts }))) return undefined;
    await tx.alarms.addHistory(target.id, { ts: e.ts, action: 'acknowledged', actor: by, seq: e.seq, severity: null, level: null, message: null, note: 'acknowledged at the gateway' });
    this.deps.logger.info({ gatewayId: e.gatewayId, key: ack.key, alarmId: target.id }, 'alarm acknowledged at the gateway');
    return target.id;
  }

  private async apply(tx: Repos, e: StoredEvent, t: AlarmTransition): Promise<number | undefined> {
    const gw = e.gatewayId;
    const now = this.deps.clock.now();
    const actor = `gateway:${gw}`;
    // Equal (seq, idx) is not stale: an event that raises and clears in one applies both in order.
    const stale = !(await tx.alarms.advanceKey(gw, t.key, { state: t.state, seq: e.seq, idx: e.idx, ts: e.ts }));
    const last = stale ? await tx.alarms.keyState(gw, t.key) : undefined;
    const entry = (action: AlarmHistoryEntry['action'], ts = e.ts): AlarmHistoryEntry => ({ ts, action, actor, seq: e.seq, severity: e.severity, level: t.level ?? null, message: e.message, note: null });

    if (t.state === 'cleared') {
      if (stale) {
        this.deps.logger.debug({ gatewayId: gw, key: t.key, seq: e.seq }, 'an older clear arrived after a newer transition; ignored');
        return undefined;
      }
      const active = await tx.alarms.active(gw, t.key);
      // A clear without an active alarm is normal: e.g. device.online for every device at start.
      if (!active) return undefined;
      await tx.alarms.update(active.id, { clearedAt: e.ts, clearedSeq: e.seq }, now);
      await tx.alarms.addHistory(active.id, entry('cleared'));
      this.deps.logger.info({ gatewayId: gw, key: t.key, alarmId: active.id }, 'alarm cleared');
      return active.id;
    }

    if (last?.state === 'cleared') {
      // The condition was already reported over: this raise belongs before that clear.
      const ended = await tx.alarms.clearedBy(gw, t.key, last.seq);
      if (ended) {
        await tx.alarms.update(ended.id, { reraiseCount: ended.reraiseCount + 1, raisedAt: Math.min(ended.raisedAt, e.ts) }, now);
        await tx.alarms.addHistory(ended.id, entry('re-raised'));
        return ended.id;
      }
      const id = await tx.alarms.insert({ ...this.fresh(e, t, now), clearedAt: last.ts, clearedSeq: last.seq });
      await tx.alarms.addHistory(id, entry('raised'));
      await tx.alarms.addHistory(id, { ...entry('cleared', last.ts), seq: last.seq, severity: null, level: null, message: null });
      return id;
    }

    const active = await tx.alarms.active(gw, t.key);
    if (active) {
      const escalated = !stale && ((t.level ?? null) !== active.level || SEVERITY_RANK[e.severity] > SEVERITY_RANK[active.severity]);
      await tx.alarms.update(
        active.id,
        {
          reraiseCount: active.reraiseCount + 1,
          raisedAt: Math.min(active.raisedAt, e.ts),
          ...(!stale && { severity: e.severity, level: t.level ?? null, message: e.message, dev: e.dev }),
          ...(escalated && active.acknowledgedAt !== null && { acknowledgedAt: null, acknowledgedBy: null, ackNote: null }),
        },
        now,
      );
      await tx.alarms.addHistory(active.id, { ...entry('re-raised'), ...(escalated && active.acknowledgedAt !== null && { note: 'escalated: acknowledgement reset' }) });
      return active.id;
    }
    const id = await tx.alarms.insert(this.fresh(e, t, now));
    await tx.alarms.addHistory(id, entry('raised'));
    this.deps.logger.warn({ gatewayId: gw, key: t.key, alarmId: id, severity: e.severity, level: t.level }, 'alarm raised');
    return id;
  }

  private fresh(e: StoredEvent, t: AlarmTransition, now: number) {
    return {
      gatewayId: e.gatewayId,
      key: t.key,
      dev: e.dev,
      severity: e.severity,
      level: t.level ?? null,
      message: e.message,
      raisedAt: e.ts,
      raisedSeq: e.seq,
      reraiseCount: 0,
      clearedAt: null,
      clearedSeq: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      ackNote: null,
      updatedAt: now,
    };
  }

  list(q: AlarmQuery): Promise<AlarmRecord[]> {
    return this.store.alarms.list(q);
  }

  async get(id: number): Promise<AlarmView> {
    const a = await this.store.alarms.get(id);
    if (!a) throw notFound('alarm', id);
    return { ...a, history: await this.store.alarms.history(id) };
  }

  /**
   * A person has seen the alarm. It stays active until the gateway clears it; a cleared one
   * is closed by this. Acknowledging twice is a conflict naming who did it first.
   */
  async acknowledge(id: number, note: string | undefined, ctx: CallContext): Promise<AlarmView> {
    const by = actorLabel(ctx);
    await this.store.transaction(async (tx) => {
      const a = await tx.alarms.get(id);
      if (!a) throw notFound('alarm', id);
      const now = this.deps.clock.now();
      if (!(await tx.alarms.acknowledge(id, { by, note: note ?? null, now }))) {
        throw conflict(`alarm ${id} was already acknowledged by ${a.acknowledgedBy ?? 'someone'} at ${new Date(a.acknowledgedAt ?? now).toISOString()}`);
      }
      await tx.alarms.addHistory(id, { ts: now, action: 'acknowledged', actor: by, seq: null, severity: null, level: null, message: null, note: note ?? null });
      await this.deps.auditor.record(tx, ctx, 'alarm.acknowledge', { type: 'alarm', id: String(id) }, { gatewayId: a.gatewayId, key: a.key, state: a.state, note: note ?? null });
    });
    await this.publish([id]);
    return this.get(id);
  }
}
