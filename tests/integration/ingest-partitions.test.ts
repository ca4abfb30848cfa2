import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Reading } from '@cityedge/contract';
import { quiet } from '@cityedge/test-support';
import { migrationProvider } from '../../device-registry/src/db/migrations.js';
import { openPostgresStore, type RegistryStore } from '../../device-registry/src/db/store.js';
import { DAY_MS, dayOf, partitionNames } from '../../device-registry/src/db/telemetry-partitions.js';
import { TelemetryRetention } from '../../device-registry/src/service/telemetry-retention.js';
import { createTestDatabase, type TestDatabase } from '../../device-registry/src/testing/stores.js';

const PG_ADMIN = process.env.REGISTRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const created: TestDatabase[] = [];

async function freshDatabase(): Promise<string> {
  const db = await createTestDatabase(PG_ADMIN);
  created.push(db);
  return db.url;
}

afterAll(async () => {
  for (const db of created) await db.drop();
});

const reading = (dev: string, ts: number, v: number): Reading => ({ dev, pt: 'level', ts, v, q: 'good', u: 'm' });

/** Every relation an EXPLAIN (FORMAT JSON) plan reads. */
function relations(plan: unknown): string[] {
  const out: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      const o = n as Record<string, unknown>;
      if (typeof o['Relation Name'] === 'string') out.push(o['Relation Name']);
      Object.values(o).forEach(walk);
    }
  };
  walk(plan);
  return [...new Set(out)].sort();
}

/** Telemetry on PostgreSQL (migration 0007): day partitions, pruning, retention, exact dedup. */
describe('telemetry partitions on PostgreSQL', () => {
  let store: RegistryStore;
  const today = dayOf(Date.now());

  beforeAll(async () => {
    store = await openPostgresStore({ databaseUrl: await freshDatabase(), maxConnections: 4 });
  }, 120_000);
  afterAll(async () => store?.close());

  it('stores each reading in the partition of its day; the readings query reads only the days of its window', async () => {
    const days = [today - 2, today - 1, today];
    let seq = 0;
    for (const d of days) expect(await store.telemetry.insertTelemetryBatch('gw-p', ++seq, [reading('radar', d * DAY_MS + 1000, d), reading('radar', d * DAY_MS + 2000, d + 0.5)])).toBe(true);
    const parts = await sql<{ relname: string; n: number }>`SELECT tableoid::regclass::text AS relname, count(*)::int AS n FROM telemetry GROUP BY 1 ORDER BY 1`.execute(store.db);
    expect(parts.rows).toEqual(days.map((d) => ({ relname: partitionNames(d).readings, n: 2 })));

    const window = { since: (today - 1) * DAY_MS, until: today * DAY_MS };
    const pruned = await store.telemetry.readingsQuery('gw-p', 'radar', 'level', 10, window).explain('json');
    expect(relations(pruned)).toEqual([partitionNames(today - 1).readings]);
    const all = await store.telemetry.readingsQuery('gw-p', 'radar', 'level', 10).explain('json');
    expect(relations(all)).toEqual(expect.arrayContaining(days.map((d) => partitionNames(d).readings)));
    expect((await store.telemetry.recentReadings('gw-p', 'radar', 'level', 10, window)).map((r) => r.v)).toEqual([today - 1 + 0.5, today - 1]);

    const brin = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = ${partitionNames(today).readings} AND indexdef LIKE '%brin%'`.execute(store.db);
    expect(brin.rows).toHaveLength(1);
  });

  it('dedups by (gateway, seq) exactly when several writers store the same messages at once', async () => {
    const others = await Promise.all([1, 2].map(() => openPostgresStore({ databaseUrl: created[0]!.url, maxConnections: 4 })));
    try {
      const writers = [store, ...others];
      const batch = (s: number) => Array.from({ length: 10 }, (_, i) => reading(`dev-${i}`, (today + 1) * DAY_MS + s * 10 + i, s));
      const results = await Promise.all(writers.flatMap((w) => Array.from({ length: 50 }, (_, s) => w.telemetry.insertTelemetryBatch('gw-dup', s, batch(s)))));
      expect(results.filter(Boolean)).toHaveLength(50);
      const n = await sql<{ n: number; distinct: number }>`SELECT count(*)::int AS n, count(DISTINCT (seq, idx))::int AS distinct FROM telemetry WHERE gateway_id = 'gw-dup'`.execute(store.db);
      expect(n.rows[0]).toEqual({ n: 500, distinct: 500 });
      expect(await store.telemetry.lastSeq('gw-dup')).toBe(49);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  it('creates a missing day on insert, partitions ahead, and drops whole days past retention', async () => {
    const far = today + 400;
    expect(await store.telemetry.insertTelemetryBatch('gw-future', 1, [reading('radar', far * DAY_MS, 1)])).toBe(true);
    expect(await store.telemetry.insertTelemetryBatch('gw-future', 1, [reading('radar', far * DAY_MS, 1)])).toBe(false);
    const retention = new TelemetryRetention(store.telemetry, quiet, { aheadDays: 3, retentionDays: 1 });
    const { dropped } = await retention.runOnce();
    expect(dropped).toEqual([today - 2]);
    const daysNow = await store.telemetry.partitionDays();
    expect(daysNow).toEqual([today - 1, today, today + 1, today + 2, today + 3, far]);
    expect(await store.telemetry.recentReadings('gw-p', 'radar', undefined, 10)).toHaveLength(4);
    // The markers went with their day: nothing of the dropped day is left anywhere.
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM telemetry_batches WHERE day = ${today - 2}`.execute(store.db);
    expect(left.rows[0]!.n).toBe(0);
  });
});

describe('migration 0007 on a database with telemetry', () => {
  it('moves existing readings and markers into day partitions; a redelivered old message is still a duplicate', async () => {
    const url = await freshDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    try {
      const migrator = new Migrator({ db, provider: migrationProvider('postgres'), allowUnorderedMigrations: true });
      const before = await migrator.migrateTo('0004_events_alarms_commands');
      expect(before.error).toBeUndefined();
      const t0 = Date.UTC(2026, 10, 30, 23, 59, 59, 0);
      await db.insertInto('telemetry_batches').values([
        { gateway_id: 'gw-old', seq: 1, readings: 2, received_at: t0 },
        { gateway_id: 'gw-old', seq: 2, readings: 0, received_at: t0 + 5000 },
      ]).execute();
      await db.insertInto('telemetry').values([
        { gateway_id: 'gw-old', seq: 1, idx: 0, device_id: 'radar', point: 'level', ts: t0, value: '1.5', quality: 'good', unit: 'm', err: null },
        { gateway_id: 'gw-old', seq: 1, idx: 1, device_id: 'radar', point: 'level', ts: t0 + 2000, value: '1.6', quality: 'good', unit: 'm', err: null },
      ]).execute();
    } finally {
      await db.destroy();
    }
    const store = await openPostgresStore({ databaseUrl: url, maxConnections: 2 });
    try {
      expect(await store.telemetry.partitionDays()).toEqual([dayOf(Date.UTC(2026, 10, 30)), dayOf(Date.UTC(2026, 11, 1))]);
      expect((await store.telemetry.recentReadings('gw-old', 'radar', 'level', 10)).map((r) => r.v)).toEqual([1.6, 1.5]);
      expect(await store.telemetry.insertTelemetryBatch('gw-old', 1, [reading('radar', Date.UTC(2026, 10, 30, 23, 59, 59), 1.5), reading('radar', Date.UTC(2026, 11, 1, 0, 0, 1), 1.6)])).toBe(false);
      expect(await store.telemetry.lastSeq('gw-old')).toBe(2);
    } finally {
      await store.close();
    }
  }, 120_000);
});
