import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Scope } from './scope.js';

/** Where the benchmark looks for PostgreSQL (BENCH_PG_URL overrides): a database it may CREATE DATABASE from. */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why PostgreSQL cannot be used, or undefined when it answers. */
export async function postgresUnavailable(adminUrl = PG_ADMIN_URL): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * A throwaway database (cityedge_bench_<random>) created now and dropped when the scope closes.
 * Returns its URL.
 */
export async function tempDatabase(scope: Scope, adminUrl = PG_ADMIN_URL): Promise<string> {
  const name = `cityedge_bench_${randomBytes(6).toString('hex')}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  scope.defer(() =>
    admin(async (c) => {
      // A closed store's connections may still be on their way out (pg-pool's end() does not
      // wait for them); forcing them now would hit a pool without an 'error' listener.
      for (let i = 0; i < 60; i++) {
        const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if (Number(r.rows[0]?.n ?? 0) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The URL with its password removed, for notes. */
export function displayDbUrl(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}
