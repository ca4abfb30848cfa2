import type { Kysely, Migration } from 'kysely';

/**
 * Rules evaluated on the gateway (flood warning, air-quality index, lighting clock, derived
 * readings), as a JSON text of the configuration's `rules` section; one record per gateway.
 */
export interface GatewayRulesTable {
  gateway_id: string;
  /** JSON object: the `rules` section as the technician sent it (defaults are the agent's). */
  rules: string;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

export interface RulesTables {
  gateway_rules: GatewayRulesTable;
}

/** 0005: the gateway_rules table. */
export const gatewayRulesMigration: Migration = {
  // Kysely recommends Kysely<any> in migrations: they must not depend on today's types.
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('gateway_rules')
      .addColumn('gateway_id', 'text', (c) => c.primaryKey().references('gateways.id'))
      .addColumn('rules', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
  },
};
