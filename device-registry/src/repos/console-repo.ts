import { sql, type Kysely } from 'kysely';
import type { Dialect, RegistryTables } from '../db/schema.js';

export interface OpenAlarms {
  /** Alarms not closed (raised, acknowledged or cleared and not yet acknowledged). */
  open: number;
  /** Of those, not acknowledged (raised or cleared). */
  unacknowledged: number;
  /** The highest severity among the open ones. */
  highestSeverity: string | null;
}

export interface SeriesBucket {
  /** Start of the bucket, ms since the epoch. */
  ts: number;
  min: number;
  avg: number;
  max: number;
  /** Good numeric (or boolean, as 0/1) readings in the bucket. */
  count: number;
}

const RANK: Record<string, number> = { info: 0, warning: 1, alarm: 2, critical: 3 };

/** Read-only aggregates the console's pages need: open alarms per gateway, downsampled reading series. */
export class ConsoleRepo {
  constructor(
    private readonly db: Kysely<RegistryTables>,
    private readonly dialect: Dialect,
  ) {}

  /** Open alarms per gateway (gateways without any are absent). */
  async openAlarmsByGateway(): Promise<Map<string, OpenAlarms>> {
    const rows = await this.db
      .selectFrom('alarms')
      .select(['gateway_id', 'severity', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', '!=', 'closed')
      .groupBy(['gateway_id', 'severity', 'state'])
      .execute();
    const out = new Map<string, OpenAlarms>();
    for (const r of rows) {
      const o = out.get(r.gateway_id) ?? { open: 0, unacknowledged: 0, highestSeverity: null };
      const n = Number(r.n);
      o.open += n;
      if (r.state !== 'acknowledged') o.unacknowledged += n;
      if (o.highestSeverity === null || (RANK[r.severity] ?? 0) > (RANK[o.highestSeverity] ?? 0)) o.highestSeverity = r.severity;
      out.set(r.gateway_id, o);
    }
    return out;
  }

  /**
   * A point's good readings in [from, to) as min/avg/max per `step` ms bucket (empty buckets
   * left out), computed in the database over the (gateway, device, ts) index. Booleans count as
   * 0/1; text values are left out.
   */
  async series(q: { gatewayId: string; deviceId: string; point: string; from: number; to: number; step: number }): Promise<SeriesBucket[]> {
    const num = this.dialect === 'postgres' ? sql`(case value when 'true' then 1 when 'false' then 0 else value::double precision end)` : sql`(case value when 'true' then 1 when 'false' then 0 else cast(value as real) end)`;
    // Integer division on both (better-sqlite3 binds numbers as REAL).
    const bucket = this.dialect === 'postgres' ? sql<number>`((ts - ${q.from}::bigint) / ${q.step}::bigint)` : sql<number>`cast((ts - ${q.from}) / ${q.step} as integer)`;
    const rows = await this.db
      .selectFrom('telemetry')
      .select([
        bucket.as('b'),
        sql<number>`min(${num})`.as('min'),
        sql<number>`avg(${num})`.as('avg'),
        sql<number>`max(${num})`.as('max'),
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .where('gateway_id', '=', q.gatewayId)
      .where('device_id', '=', q.deviceId)
      .where('ts', '>=', q.from)
      .where('ts', '<', q.to)
      .where('point', '=', q.point)
      .where('quality', '=', 'good')
      .where('value', '!=', 'null')
      .where(sql<boolean>`substr(value, 1, 1) != '"'`)
      // By position: PostgreSQL would not match two copies of the bucket expression with their own parameters.
      .groupBy(sql`1`)
      .orderBy(sql`1`)
      .execute();
    return rows.map((r) => ({ ts: q.from + Number(r.b) * q.step, min: Number(r.min), avg: Number(r.avg), max: Number(r.max), count: Number(r.n) }));
  }
}
