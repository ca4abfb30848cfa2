import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStore, openSqliteStore, type RegistryStore } from '../db/store.js';

export interface TestStore {
  store: RegistryStore;
  /** Closes the store and removes its database. */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<TestStore>;

/** A fresh SQLite file in a temp directory. */
export const sqliteStoreFactory: StoreFactory = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cityedge-registry-'));
  const store = await openSqliteStore({ dataDir: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** A throwaway PostgreSQL database: its URL, and `drop` to remove it. Fails, never skips, when PostgreSQL is unreachable. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database `cityedge_test_<random>` through `adminUrl` (a database the user may CREATE DATABASE from). */
export async function createTestDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `cityedge_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A store on a throwaway PostgreSQL database (see createTestDatabase), dropped at cleanup. */
export function postgresStoreFactory(adminUrl: string): StoreFactory {
  return async () => {
    const db = await createTestDatabase(adminUrl);
    const store = await openPostgresStore({ databaseUrl: db.url, maxConnections: 4 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await db.drop();
      },
    };
  };
}
