import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { Dialect } from './schema.js';

/** 0004: events, alarms and commands (issue 8); the tables are described in ops-schema.ts. */
export function eventsAlarmsCommandsMigration(dialect: Dialect): Migration {
  // Generated ids differ by dialect, as in the audit log.
  const idType = dialect === 'postgres' ? 'bigserial' : 'integer';
  const idColumn = (c: ColumnDefinitionBuilder) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());
  return {
    // Kysely recommends Kysely<any> in migrations: they must not depend on today's types.
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('event_batches')
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('events', 'integer', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('event_batches_pk', ['gateway_id', 'seq'])
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text')
        .addColumn('alarm', 'text')
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['gateway_id', 'seq', 'idx'])
        .execute();
      await db.schema.createIndex('events_gateway_ts').on('events').columns(['gateway_id', 'ts']).execute();
      await db.schema.createIndex('events_gateway_type').on('events').columns(['gateway_id', 'type', 'seq']).execute();

      await db.schema
        .createTable('alarms')
        .addColumn('id', idType, idColumn)
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('alarm_key', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('level', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('raised_at', 'bigint', (c) => c.notNull())
        .addColumn('raised_seq', 'bigint', (c) => c.notNull())
        .addColumn('reraise_count', 'integer', (c) => c.notNull())
        .addColumn('cleared_at', 'bigint')
        .addColumn('cleared_seq', 'bigint')
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('acknowledged_by', 'text')
        .addColumn('ack_note', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // At most one active (not cleared) occurrence per gateway and key.
      await db.schema
        .createIndex('alarms_active_key')
        .on('alarms')
        .columns(['gateway_id', 'alarm_key'])
        .unique()
        .where(sql.ref('cleared_at'), 'is', null)
        .execute();
      await db.schema.createIndex('alarms_state').on('alarms').columns(['state', 'id']).execute();
      await db.schema.createIndex('alarms_gateway').on('alarms').columns(['gateway_id', 'id']).execute();

      await db.schema
        .createTable('alarm_keys')
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('alarm_key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('alarm_keys_pk', ['gateway_id', 'alarm_key'])
        .execute();

      await db.schema
        .createTable('alarm_history')
        .addColumn('id', idType, idColumn)
        .addColumn('alarm_id', 'bigint', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint')
        .addColumn('severity', 'text')
        .addColumn('level', 'text')
        .addColumn('message', 'text')
        .addColumn('note', 'text')
        .execute();
      await db.schema.createIndex('alarm_history_alarm').on('alarm_history').columns(['alarm_id', 'id']).execute();

      await db.schema
        .createTable('commands')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('args', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('signed', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('state_at', 'bigint', (c) => c.notNull())
        .addColumn('progress', 'text')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('repeat', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('result_seq', 'bigint')
        .addColumn('result_idx', 'integer')
        .addColumn('published_at', 'bigint')
        .addColumn('publish_count', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('commands_gateway_issued').on('commands').columns(['gateway_id', 'issued_at']).execute();
      await db.schema.createIndex('commands_state').on('commands').columns(['state', 'expires_at']).execute();
    },
  };
}
