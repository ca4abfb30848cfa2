import type { Kysely } from 'kysely';
import type { RegistryTables } from '../db/schema.js';
import { parseJson } from './json.js';

export interface AuditEntry {
  id: number;
  ts: number;
  actor: { id: string; name: string | null };
  action: string;
  target: { type: string; id: string | null };
  details: Record<string, unknown> | null;
  sourceIp: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export class AuditRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async insert(e: NewAuditEntry): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        ts: e.ts,
        actor_id: e.actor.id,
        actor_name: e.actor.name,
        action: e.action,
        target_type: e.target.type,
        target_id: e.target.id,
        details: e.details === null ? null : JSON.stringify(e.details),
        source_ip: e.sourceIp,
      })
      .execute();
  }

  /** Newest first; `before` pages back by id. */
  async list(q: { limit: number; before?: number; targetType?: string; targetId?: string; action?: string }): Promise<AuditEntry[]> {
    let s = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.before !== undefined) s = s.where('id', '<', q.before);
    if (q.targetType !== undefined) s = s.where('target_type', '=', q.targetType);
    if (q.targetId !== undefined) s = s.where('target_id', '=', q.targetId);
    if (q.action !== undefined) s = s.where('action', '=', q.action);
    const rows = await s.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      ts: r.ts,
      actor: { id: r.actor_id, name: r.actor_name },
      action: r.action,
      target: { type: r.target_type, id: r.target_id },
      details: parseJson<Record<string, unknown> | null>(r.details, null),
      sourceIp: r.source_ip,
    }));
  }
}
