import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from './schema.js';
import { ensureDayPartitions } from './telemetry-partitions.js';

/**
 * 0007 (PostgreSQL only; SQLite keeps its tables): telemetry partitioned by UTC day.
 * - `telemetry` by RANGE on the reading time `ts` (ms), a BRIN index on `ts` and the
 *   (gateway, device, ts) b-tree for the readings query; no per-row key (the marker dedups).
 * - `telemetry_batches`, the dedup markers, by RANGE on `day`: the day of the message's earliest
 *   reading (of its arrival when it has none). A redelivered message is the same bytes, so it
 *   lands on the same day and its (gateway_id, seq, day) key conflicts: dedup stays exact by
 *   (gateway, seq) across partitions and across ingest workers, and a day's markers are dropped
 *   with its readings.
 * Existing rows are copied into partitions of their days.
 */
export function telemetryPartitionsMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'postgres') return;
      for (const q of [
        sql`ALTER TABLE telemetry RENAME TO telemetry_0001`,
        sql`ALTER INDEX telemetry_pk RENAME TO telemetry_0001_pk`,
        sql`ALTER INDEX telemetry_device_ts RENAME TO telemetry_0001_device_ts`,
        sql`ALTER TABLE telemetry_batches RENAME TO telemetry_batches_0001`,
        sql`ALTER INDEX telemetry_batches_pk RENAME TO telemetry_batches_0001_pk`,
        sql`CREATE TABLE telemetry (
          gateway_id text NOT NULL, seq bigint NOT NULL, idx integer NOT NULL, device_id text NOT NULL,
          point text NOT NULL, ts bigint NOT NULL, value text NOT NULL, quality text NOT NULL, unit text, err text
        ) PARTITION BY RANGE (ts)`,
        sql`CREATE INDEX telemetry_device_ts ON telemetry (gateway_id, device_id, ts)`,
        sql`CREATE INDEX telemetry_ts_brin ON telemetry USING brin (ts)`,
        sql`CREATE TABLE telemetry_batches (
          gateway_id text NOT NULL, seq bigint NOT NULL, day integer NOT NULL, readings integer NOT NULL, received_at bigint NOT NULL,
          CONSTRAINT telemetry_batches_pk PRIMARY KEY (gateway_id, seq, day)
        ) PARTITION BY RANGE (day)`,
      ]) {
        await q.execute(db);
      }
      const days = await sql<{ day: number }>`
        SELECT DISTINCT floor(ts / 86400000.0)::int AS day FROM telemetry_0001
        UNION SELECT DISTINCT floor(received_at / 86400000.0)::int FROM telemetry_batches_0001`.execute(db);
      for (const { day } of days.rows) await ensureDayPartitions(db, Number(day));
      await sql`INSERT INTO telemetry SELECT gateway_id, seq, idx, device_id, point, ts, value, quality, unit, err FROM telemetry_0001`.execute(db);
      await sql`
        INSERT INTO telemetry_batches (gateway_id, seq, day, readings, received_at)
        SELECT b.gateway_id, b.seq,
               COALESCE((SELECT floor(min(t.ts) / 86400000.0)::int FROM telemetry_0001 t WHERE t.gateway_id = b.gateway_id AND t.seq = b.seq),
                        floor(b.received_at / 86400000.0)::int),
               b.readings, b.received_at
        FROM telemetry_batches_0001 b`.execute(db);
      await sql`DROP TABLE telemetry_0001`.execute(db);
      await sql`DROP TABLE telemetry_batches_0001`.execute(db);
    },
  };
}
