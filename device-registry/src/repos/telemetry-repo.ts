import type { Kysely } from 'kysely';
import type { Reading } from '@cityedge/contract';
import type { RegistryTables } from '../db/schema.js';
import { parseJson } from './json.js';

/** A stored reading, newest first from recentReadings. */
export interface StoredReading extends Reading {
  gw: string;
  seq: number;
}

/** Rows per INSERT: 10 parameters each stays well under SQLite's and PostgreSQL's limits. */
const CHUNK = 1000;

export class TelemetryRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  /**
   * Stores one telemetry message. Idempotent by (gateway, seq): a duplicate delivery (QoS 1
   * resend, a second ingest consumer) stores nothing and returns false; a new one returns true.
   * The batch marker and its readings commit together.
   */
  async insertTelemetryBatch(gatewayId: string, seq: number, readings: readonly Reading[], receivedAt = Date.now()): Promise<boolean> {
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

  /** The latest readings of a device (optionally one point), newest first. */
  async recentReadings(gatewayId: string, deviceId: string, point: string | undefined, limit: number): Promise<StoredReading[]> {
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
    const rows = await q.execute();
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

  /** Highest seq stored per gateway, for a consumer that wants to detect gaps. */
  async lastSeq(gatewayId: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('telemetry_batches').select((eb) => eb.fn.max('seq').as('seq')).where('gateway_id', '=', gatewayId).executeTakeFirst();
    return r?.seq === null || r?.seq === undefined ? undefined : Number(r.seq);
  }
}
