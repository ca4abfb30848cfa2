import type { RegistryStore } from '../db/store.js';
import type { AuditEntry } from '../repos/audit-repo.js';
import { RateLimiter } from '../security/rate-limiter.js';
import { redact, type ServiceDeps } from './context.js';

/** An audit event from outside the services, e.g. a broker denial (the broker module's BrokerAuditEvent). */
export interface ExternalAuditEvent {
  action: string;
  /** e.g. `gateway:<id>`, `account:<username>`, `unknown`. */
  actor: string;
  /** ms since the epoch. */
  at: number;
  details: { topic?: string; clientId?: string; remoteAddress?: string; [key: string]: unknown };
}

/**
 * Reading the audit log, and writing events that happen outside a service call. A denied
 * client that keeps trying is recorded at most `maxPerMinute` times a minute per actor and
 * action; the rest are counted in the log, so a flood cannot fill the database.
 */
export class AuditService {
  private readonly limiter: RateLimiter;
  private suppressed = 0;

  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    maxPerMinute = 20,
  ) {
    this.limiter = new RateLimiter({ max: maxPerMinute, windowMs: 60_000 }, deps.clock, 10_000);
  }

  list(q: { limit: number; before?: number; targetType?: string; targetId?: string; action?: string }): Promise<AuditEntry[]> {
    return this.store.audit.list(q);
  }

  /** Never throws: a storage failure is logged. Usable directly as the broker's BrokerAuditSink. */
  readonly recordExternal = async (e: ExternalAuditEvent): Promise<void> => {
    if (this.limiter.hit(`${e.actor}|${e.action}`) > 0) {
      this.suppressed++;
      if (this.suppressed % 100 === 1) this.deps.logger.warn({ actor: e.actor, action: e.action, suppressed: this.suppressed }, 'audit events suppressed (flood)');
      return;
    }
    try {
      await this.store.audit.insert({
        ts: e.at,
        actor: { id: e.actor, name: null },
        action: e.action,
        target: { type: 'mqtt', id: e.details.topic ?? e.details.clientId ?? null },
        details: redact(e.details) as Record<string, unknown>,
        sourceIp: typeof e.details.remoteAddress === 'string' ? e.details.remoteAddress : null,
      });
    } catch (err) {
      this.deps.logger.error({ err, action: e.action }, 'could not write an audit entry');
    }
  };
}
