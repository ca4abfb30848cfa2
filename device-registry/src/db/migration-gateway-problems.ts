import type { Kysely, Migration } from 'kysely';

/**
 * 0003: the line and device problems a gateway last reported with its config report (JSON:
 * { version, at, lines, devices }), for `gateway show` and `config push --watch`.
 */
export const gatewayProblemsMigration: Migration = {
  // Kysely recommends Kysely<any> in migrations: they must not depend on today's types.
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('gateways').addColumn('runtime_problems', 'text').execute();
  },
};
