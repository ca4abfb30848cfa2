import { sql, type Kysely } from 'kysely';

/** One day in ms: telemetry partitions are UTC days of the reading time. */
export const DAY_MS = 86_400_000;

/** The UTC day number (days since the Unix epoch) of a ms timestamp. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** `20261207` for a day inside years 1970..9999, else the day number itself (`d2954101`). */
function daySuffix(day: number): string {
  const iso = new Date(day * DAY_MS);
  const y = iso.getUTCFullYear();
  return y >= 1970 && y <= 9999 ? iso.toISOString().slice(0, 10).replaceAll('-', '') : `d${day}`;
}

/** The partitions of one day: readings by `ts` (ms), batch markers by `day`. */
export function partitionNames(day: number): { readings: string; batches: string } {
  const s = daySuffix(day);
  return { readings: `telemetry_p${s}`, batches: `telemetry_batches_p${s}` };
}

/** Error codes two writers creating the same partition at once can meet: already exists. */
const ALREADY_EXISTS = new Set(['42P07', '23505']);

/**
 * Creates the readings and batch-marker partitions of `day` unless they exist. Safe to run from
 * several processes at once (a concurrent creation that wins the race is not an error).
 */
export async function ensureDayPartitions(db: Kysely<any>, day: number): Promise<void> {
  const { readings, batches } = partitionNames(day);
  const from = day * DAY_MS;
  const to = (day + 1) * DAY_MS;
  for (const stmt of [
    sql`CREATE TABLE IF NOT EXISTS ${sql.id(readings)} PARTITION OF telemetry FOR VALUES FROM (${sql.lit(from)}) TO (${sql.lit(to)})`,
    sql`CREATE TABLE IF NOT EXISTS ${sql.id(batches)} PARTITION OF telemetry_batches FOR VALUES FROM (${sql.lit(day)}) TO (${sql.lit(day + 1)})`,
  ]) {
    try {
      await stmt.execute(db);
    } catch (err) {
      if (!ALREADY_EXISTS.has((err as { code?: string }).code ?? '')) throw err;
    }
  }
}

/** Drops the readings and marker partitions of `day` (a brief exclusive lock on each parent). */
export async function dropDayPartitions(db: Kysely<any>, day: number): Promise<void> {
  const { readings, batches } = partitionNames(day);
  await db.transaction().execute(async (trx) => {
    await sql`DROP TABLE IF EXISTS ${sql.id(readings)}`.execute(trx);
    await sql`DROP TABLE IF EXISTS ${sql.id(batches)}`.execute(trx);
  });
}
