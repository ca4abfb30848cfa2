import { sql, type Kysely } from 'kysely';
import type { Reading } from '@cityedge/contract';
import type { Dialect, RegistryTables } from '../db/schema.js';
import { dayOf, dropDayPartitions, ensureDayPartitions } from '../db/telemetry-partitions.js';
import { parseJson } from './json.js';

/** A stored reading, newest first from recentReadings. */
export interface StoredReading extends Reading {
  gw: string;
  seq: number;
}

/** A time window on the reading time (ms; `until` exclusive): on PostgreSQL it prunes partitions. */
export interface ReadingsWindow {
  since?: number;
  until?: number;
}

/** Rows per INSERT: 10 parameters each stays well under SQLite's and PostgreSQL's limits. */
const CHUNK = 1000;

/** PostgreSQL: "no partition of relation ... found for row". */
const NO_PARTITION = '23514';

export class TelemetryRepo {
  constructor(
    private readonly db: Kysely<RegistryTables>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Stores one telemetry message. Idempotent by (gateway, seq): a duplicate delivery (QoS 1
   * resend, a second ingest consumer) stores nothing and returns false; a new one returns true.
   * The batch marker and its readings commit together.
   */
  async insertTelemetryBatch(gatewayId: string, seq: number, readings: readonly Reading[], receivedAt = Date.now()): Promise<boolean> {
    if (this.dialect === 'postgres') return this.insertPartitioned(gatewayId, seq, readings, receivedAt);
    return this.db.transaction().execute(async (trx) => {
      const marker = await trx
        .insertInto('telemetry_batches')
        .values({ gateway_id: gatewayId, seq, readings: readings.length, received_at: receivedAt })
        .onConflict((oc) => oc.columns(['gateway_id', 'seq']).doNothing())
        .returning('seq')
        .executeTakeFirst();
      if (!marker) return false;
      for (let start = 0; start < readings.length; start += CHUNK) {
        const rows = readings.slice(start, start + CHUNK).map((r, i) => ({
          gateway_id: gatewayId,
          seq,
          idx: start + i,
          device_id: r.dev,
          point: r.pt,
          ts: r.ts,
          value: JSON.stringify(r.v ?? null),
          quality: r.q,
          unit: r.u ?? null,
          err: r.err ?? null,
        }));
        await trx.insertInto('telemetry').values(rows).execute();
      }
      return true;
    });
  }

  /**
   * PostgreSQL (migration 0007): the marker goes to the partition of the message's day (its
   * earliest reading), the readings in one `INSERT … SELECT FROM unnest(…)` whatever their number.
   * A day without a partition yet (the maintenance task creates them ahead) is created here and
   * the transaction retried.
   */
  private async insertPartitioned(gatewayId: string, seq: number, readings: readonly Reading[], receivedAt: number): Promise<boolean> {
    const day = dayOf(readings.reduce((min, r) => Math.min(min, r.ts), readings.length > 0 ? Infinity : receivedAt));
    const cols = { idx: [] as number[], dev: [] as string[], pt: [] as string[], ts: [] as number[], v: [] as string[], q: [] as string[], u: [] as (string | null)[], e: [] as (string | null)[] };
    readings.forEach((r, i) => {
      cols.idx.push(i);
      cols.dev.push(r.dev);
      cols.pt.push(r.pt);
      cols.ts.push(r.ts);
      cols.v.push(JSON.stringify(r.v ?? null));
      cols.q.push(r.q);
      cols.u.push(r.u ?? null);
      cols.e.push(r.err ?? null);
    });
    const attempt = () =>
      this.db.transaction().execute(async (trx) => {
        const marker = await sql<{ seq: number }>`
          INSERT INTO telemetry_batches (gateway_id, seq, day, readings, received_at)
          VALUES (${gatewayId}, ${seq}, ${day}, ${readings.length}, ${receivedAt})
          ON CONFLICT DO NOTHING RETURNING seq`.execute(trx);
        if (marker.rows.length === 0) return false;
        if (readings.length > 0) {
          await sql`
            INSERT INTO telemetry (gateway_id, seq, idx, device_id, point, ts, value, quality, unit, err)
            SELECT ${gatewayId}, ${seq}, r.idx, r.dev, r.pt, r.ts, r.v, r.q, r.u, r.e
            FROM unnest(${cols.idx}::int[], ${cols.dev}::text[], ${cols.pt}::text[], ${cols.ts}::bigint[],
                        ${cols.v}::text[], ${cols.q}::text[], ${cols.u}::text[], ${cols.e}::text[]) AS r(idx, dev, pt, ts, v, q, u, e)`.execute(trx);
        }
        return true;
      });
    try {
      return await attempt();
    } catch (err) {
      if ((err as { code?: string }).code !== NO_PARTITION) throw err;
      for (const d of new Set([day, ...readings.map((r) => dayOf(r.ts))])) await ensureDayPartitions(this.db, d);
      return attempt();
    }
  }

  /** The query behind recentReadings (exposed so a test can EXPLAIN its partition pruning). */
  readingsQuery(gatewayId: string, deviceId: string, point: string | undefined, limit: number, window: ReadingsWindow = {}) {
    let q = this.db
      .selectFrom('telemetry')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('device_id', '=', deviceId)
      .orderBy('ts', 'desc')
      .orderBy('seq', 'desc')
      .orderBy('idx', 'desc')
      .limit(limit);
    if (point !== undefined) q = q.where('point', '=', point);
    if (window.since !== undefined) q = q.where('ts', '>=', window.since);
    if (window.until !== undefined) q = q.where('ts', '<', window.until);
    return q;
  }

  /** The latest readings of a device (optionally one point, optionally within a window), newest first. */
  async recentReadings(gatewayId: string, deviceId: string, point: string | undefined, limit: number, window: ReadingsWindow = {}): Promise<StoredReading[]> {
    const rows = await this.readingsQuery(gatewayId, deviceId, point, limit, window).execute();
    return rows.map((r) => ({
      gw: r.gateway_id,
      seq: Number(r.seq),
      dev: r.device_id,
      pt: r.point,
      ts: Number(r.ts),
      v: parseJson<Reading['v']>(r.value, null),
      q: r.quality as Reading['q'],
      ...(r.unit !== null && { u: r.unit }),
      ...(r.err !== null && { err: r.err }),
    }));
  }

  /** PostgreSQL: the days that have a telemetry partition (readings or markers), ascending (SQLite: none). */
  async partitionDays(): Promise<number[]> {
    if (this.dialect !== 'postgres') return [];
    const r = await sql<{ parent: string; bound: string }>`
      SELECT i.inhparent::regclass::text AS parent, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN ('telemetry'::regclass, 'telemetry_batches'::regclass)`.execute(this.db);
    const days = new Set<number>();
    for (const row of r.rows) {
      const from = /FROM \('?(-?\d+)'?\)/.exec(row.bound)?.[1];
      if (from !== undefined) days.add(row.parent === 'telemetry' ? dayOf(Number(from)) : Number(from));
    }
    return [...days].sort((a, b) => a - b);
  }

  /** PostgreSQL: creates the partitions of days `from..to` (inclusive) that do not exist yet. */
  async ensurePartitions(fromDay: number, toDay: number): Promise<void> {
    if (this.dialect !== 'postgres') return;
    const have = new Set(await this.partitionDays());
    for (let d = fromDay; d <= toDay; d++) if (!have.has(d)) await ensureDayPartitions(this.db, d);
  }

  /**
   * PostgreSQL retention: drops the readings and marker partitions of every day before `day`
   * (whole tables: no DELETE, no vacuum debt). Returns the days dropped.
   */
  async dropPartitionsBefore(day: number): Promise<number[]> {
    if (this.dialect !== 'postgres') return [];
    const old = (await this.partitionDays()).filter((d) => d < day);
    for (const d of old) await dropDayPartitions(this.db, d);
    return old;
  }

  /** Highest seq stored per gateway, for a consumer that wants to detect gaps. */
  async lastSeq(gatewayId: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('telemetry_batches').select((eb) => eb.fn.max('seq').as('seq')).where('gateway_id', '=', gatewayId).executeTakeFirst();
    return r?.seq === null || r?.seq === undefined ? undefined : Number(r.seq);
  }
}
