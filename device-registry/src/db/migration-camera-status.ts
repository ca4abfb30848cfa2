import type { Kysely, Migration } from 'kysely';

/** 0002: camera status, inventory, thumbnails and discovered cameras reported by gateways (issue 4). */
export const cameraStatusMigration: Migration = {
  // Kysely recommends Kysely<any> in migrations: they must not depend on today's types.
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('camera_status')
      .addColumn('gateway_id', 'text', (c) => c.notNull())
      .addColumn('camera_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('reasons', 'text', (c) => c.notNull())
      .addColumn('code', 'text')
      .addColumn('since', 'bigint')
      .addColumn('checked_at', 'bigint')
      .addColumn('observed_at', 'bigint', (c) => c.notNull())
      .addColumn('clock_skew_ms', 'bigint')
      .addColumn('codec', 'text')
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('inventory', 'text')
      .addColumn('inventory_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('camera_status_pk', ['gateway_id', 'camera_id'])
      .execute();
    await db.schema.createIndex('camera_status_state').on('camera_status').column('state').execute();

    await db.schema
      .createTable('camera_thumbnails')
      .addColumn('gateway_id', 'text', (c) => c.notNull())
      .addColumn('camera_id', 'text', (c) => c.notNull())
      .addColumn('ts', 'bigint', (c) => c.notNull())
      .addColumn('width', 'integer', (c) => c.notNull())
      .addColumn('height', 'integer', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('camera_thumbnails_pk', ['gateway_id', 'camera_id'])
      .execute();

    await db.schema
      .createTable('discovered_cameras')
      .addColumn('gateway_id', 'text', (c) => c.notNull())
      .addColumn('epr', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('hardware', 'text')
      .addColumn('location', 'text')
      .addColumn('xaddrs', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('types', 'text', (c) => c.notNull())
      .addColumn('from_addr', 'text', (c) => c.notNull())
      .addColumn('first_seen', 'bigint', (c) => c.notNull())
      .addColumn('last_seen', 'bigint', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('camera_id', 'text')
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'bigint')
      .addPrimaryKeyConstraint('discovered_cameras_pk', ['gateway_id', 'epr'])
      .execute();
  },
};
