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
    return this.store.transaction(async (tx) => {
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
        await this.alarms.applyEvent(tx, e);
        if (e.type.startsWith('command.')) await this.commands.applyResult(tx, e);
      }
      return true;
    });
  }

  /** A gateway's events, newest first. */
  async list(q: EventQuery): Promise<StoredEvent[]> {
    if (!(await this.store.gateways.get(q.gatewayId))) throw notFound('gateway', q.gatewayId);
    return this.store.events.list(q);
  }
}
