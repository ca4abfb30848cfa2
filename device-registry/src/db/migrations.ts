import { type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { accountsSessionsMigration } from './migration-accounts-sessions.js';
import { cameraStatusMigration } from './migration-camera-status.js';
import { gatewayProblemsMigration } from './migration-gateway-problems.js';
import { eventsAlarmsCommandsMigration } from './migration-events-alarms-commands.js';
import { gatewayRulesMigration } from './migration-gateway-rules.js';
import { telemetryPartitionsMigration } from './migration-0007-telemetry-partitions.js';
import type { Dialect } from './schema.js';

/**
 * Portable DDL: text, integer, bigint (ms timestamps) and double precision only; JSON as text.
 * The one dialect difference is the audit log's generated id. Migrations are append-only:
 * never edit one that has shipped, add the next.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': {
      // Kysely recommends Kysely<any> in migrations: they must not depend on today's types.
      async up(db: Kysely<any>): Promise<void> {
        await db.schema
          .createTable('sites')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('lat', 'double precision')
          .addColumn('lon', 'double precision')
          .addColumn('time_zone', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('gateways')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('site_id', 'text', (c) => c.references('sites.id'))
          .addColumn('name', 'text')
          .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('mqtt_password_hash', 'text')
          .addColumn('enrolled_at', 'bigint')
          .addColumn('hostname', 'text')
          .addColumn('status', 'text', (c) => c.notNull().defaultTo('unknown'))
          .addColumn('status_at', 'bigint')
          .addColumn('last_seen', 'bigint')
          .addColumn('agent_version', 'text')
          .addColumn('config_version_running', 'bigint')
          .addColumn('backlog', 'bigint')
          .addColumn('devices_failing', 'integer')
          .addColumn('last_config_version', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.createIndex('gateways_site').on('gateways').column('site_id').execute();

        await db.schema
          .createTable('enrollment_codes')
          .addColumn('code_hash', 'text', (c) => c.primaryKey())
          .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await db.schema.createIndex('enrollment_codes_gateway').on('enrollment_codes').column('gateway_id').execute();

        await db.schema
          .createTable('lines')
          .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id'))
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('path', 'text')
          .addColumn('host', 'text')
          .addColumn('port', 'integer')
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('lines_pk', ['gateway_id', 'id'])
          .execute();

        await db.schema
          .createTable('devices')
          .addColumn('gateway_id', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('line_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .addColumn('profile', 'text', (c) => c.notNull())
          .addColumn('unit_id', 'integer')
          .addColumn('poll_interval_ms', 'integer')
          .addColumn('address_offset', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('timeout_ms', 'integer')
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('points', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('devices_pk', ['gateway_id', 'id'])
          .addForeignKeyConstraint('devices_line_fk', ['gateway_id', 'line_id'], 'lines', ['gateway_id', 'id'])
          .execute();

        await db.schema
          .createTable('cameras')
          .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id'))
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('onvif_port', 'integer', (c) => c.notNull())
          .addColumn('username', 'text')
          .addColumn('password_enc', 'text')
          .addColumn('inventory', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('cameras_pk', ['gateway_id', 'id'])
          .execute();

        await db.schema
          .createTable('config_versions')
          .addColumn('gateway_id', 'text', (c) => c.notNull())
          .addColumn('version', 'bigint', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('signed', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('based_on', 'bigint')
          .addColumn('rollout_id', 'text')
          .addColumn('note', 'text')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('state_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('config_versions_pk', ['gateway_id', 'version'])
          .execute();

        await db.schema
          .createTable('rollouts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('target_kind', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('canary_size', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('note', 'text')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('rollout_gateways')
          .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
          .addColumn('gateway_id', 'text', (c) => c.notNull())
          .addColumn('phase', 'text', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('version', 'bigint')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('rollout_gateways_pk', ['rollout_id', 'gateway_id'])
          .execute();
        await db.schema.createIndex('rollout_gateways_version').on('rollout_gateways').columns(['gateway_id', 'version']).execute();

        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();

        await db.schema
          .createTable('audit_log')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('actor_id', 'text', (c) => c.notNull())
          .addColumn('actor_name', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target_type', 'text', (c) => c.notNull())
          .addColumn('target_id', 'text')
          .addColumn('details', 'text')
          .addColumn('source_ip', 'text')
          .execute();
        await db.schema.createIndex('audit_log_target').on('audit_log').columns(['target_type', 'target_id']).execute();

        await db.schema
          .createTable('telemetry_batches')
          .addColumn('gateway_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('readings', 'integer', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('telemetry_batches_pk', ['gateway_id', 'seq'])
          .execute();

        await db.schema
          .createTable('telemetry')
          .addColumn('gateway_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('point', 'text', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('quality', 'text', (c) => c.notNull())
          .addColumn('unit', 'text')
          .addColumn('err', 'text')
          .addPrimaryKeyConstraint('telemetry_pk', ['gateway_id', 'seq', 'idx'])
          .execute();
        await db.schema.createIndex('telemetry_device_ts').on('telemetry').columns(['gateway_id', 'device_id', 'ts']).execute();
      },
    },
    '0002_camera_status': cameraStatusMigration,
    '0003_gateway_problems': gatewayProblemsMigration,
    '0004_events_alarms_commands': eventsAlarmsCommandsMigration(dialect),
    '0005_gateway_rules': gatewayRulesMigration,
    '0006_accounts_sessions': accountsSessionsMigration,
    '0007_telemetry_partitions': telemetryPartitionsMigration(dialect),
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}
