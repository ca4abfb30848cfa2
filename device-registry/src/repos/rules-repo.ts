import type { Kysely, Selectable } from 'kysely';
import type { GatewayRulesTable } from '../db/migration-gateway-rules.js';
import type { RegistryTables } from '../db/schema.js';
import { affected, parseJson } from './json.js';

/** A gateway's rules record: the configuration's `rules` section as the technician sent it. */
export interface RulesRecord {
  gatewayId: string;
  rules: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
}

const toRules = (r: Selectable<GatewayRulesTable>): RulesRecord => ({
  gatewayId: r.gateway_id,
  rules: parseJson<Record<string, unknown>>(r.rules, {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

export class RulesRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async get(gatewayId: string): Promise<RulesRecord | undefined> {
    const r = await this.db.selectFrom('gateway_rules').selectAll().where('gateway_id', '=', gatewayId).executeTakeFirst();
    return r && toRules(r);
  }

  async upsert(rec: RulesRecord): Promise<void> {
    const values = { rules: JSON.stringify(rec.rules), updated_at: rec.updatedAt, updated_by: rec.updatedBy };
    await this.db
      .insertInto('gateway_rules')
      .values({ gateway_id: rec.gatewayId, created_at: rec.createdAt, ...values })
      .onConflict((oc) => oc.column('gateway_id').doUpdateSet(values))
      .execute();
  }

  async delete(gatewayId: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('gateway_rules').where('gateway_id', '=', gatewayId).executeTakeFirst()) > 0;
  }
}
