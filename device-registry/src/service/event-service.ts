import type { RegistryStore } from '../db/store.js';
import { notFound } from '../errors.js';
import type { EventQuery, StoredEvent } from '../repos/events-repo.js';
import type { EventsSink, IndexedEvent } from '../ingest/ports.js';
import type { AlarmService } from './alarm-service.js';
import type { CommandService } from './command-service.js';
import type { ServiceDeps } from './context.js';

/**
 * The events gateways send: stored once per (gateway, seq) message, with their effects (alarm
 * transitions, command results) in the same transaction, so a redelivered message changes
 * nothing and a crash before the commit leaves nothing half applied.
 */
export class EventService implements EventsSink {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly alarms: AlarmService,
    private readonly commands: CommandService,
  ) {}

  async insertEventsBatch(gatewayId: string, seq: number, events: readonly IndexedEvent[]): Promise<boolean> {
    const receivedAt = this.deps.clock.now();
    const alarmIds: number[] = [];
    const commandIds: string[] = [];
    const stored = await this.store.transaction(async (tx) => {
      if (!(await tx.events.claimBatch(gatewayId, seq, events.length, receivedAt))) return false;
      const stored: StoredEvent[] = events.map(({ idx, event: e }) => ({
        gatewayId,
        seq,
        idx,
        type: e.type,
        ts: e.ts,
        severity: e.severity,
        dev: e.dev ?? null,
        message: e.message,
        data: e.data ?? null,
        alarm: e.alarm ?? null,
        receivedAt,
      }));
      await tx.events.insert(stored);
      for (const e of stored) {
        alarmIds.push(...(await this.alarms.applyEvent(tx, e)));
        if (e.type.startsWith('command.')) {
          await this.commands.applyResult(tx, e);
          const id = (e.data as { id?: unknown } | null)?.id;
          if (typeof id === 'string') commandIds.push(id);
        }
      }
      return true;
    });
    if (stored) await this.publish(gatewayId, alarmIds, commandIds);
    return stored;
  }

  /** What the message changed, to the event streams (never fails the ingest). */
  private async publish(gatewayId: string, alarmIds: number[], commandIds: string[]): Promise<void> {
    try {
      await this.alarms.publish(alarmIds);
      if (commandIds.length === 0 || !this.deps.hub.wants('commands', gatewayId)) return;
      for (const id of new Set(commandIds)) {
        const c = await this.commands.get(id).catch(() => undefined);
        if (c && c.gatewayId === gatewayId) this.deps.hub.publish('commands', gatewayId, c);
      }
    } catch (err) {
      this.deps.logger.warn({ err, gatewayId }, 'could not publish to the event streams');
    }
  }

  /** A gateway's events, newest first. */
  async list(q: EventQuery): Promise<StoredEvent[]> {
    if (!(await this.store.gateways.get(q.gatewayId))) throw notFound('gateway', q.gatewayId);
    return this.store.events.list(q);
  }
}
