import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { AccountsRepo } from '../repos/accounts-repo.js';
import { AlarmsRepo } from '../repos/alarms-repo.js';
import { AuditRepo } from '../repos/audit-repo.js';
import { CameraStatusRepo } from '../repos/camera-status-repo.js';
import { CommandsRepo } from '../repos/commands-repo.js';
import { ConfigsRepo } from '../repos/configs-repo.js';
import { EventsRepo } from '../repos/events-repo.js';
import { GatewaysRepo } from '../repos/gateways-repo.js';
import { InventoryRepo } from '../repos/inventory-repo.js';
import { RolloutsRepo } from '../repos/rollouts-repo.js';
import { RulesRepo } from '../repos/rules-repo.js';
import { SitesRepo } from '../repos/sites-repo.js';
import { TelemetryRepo } from '../repos/telemetry-repo.js';
import { TokensRepo } from '../repos/tokens-repo.js';
import { migrationProvider } from './migrations.js';
import type { Dialect, RegistryTables } from './schema.js';

/** The repositories over one connection or one transaction. */
export class Repos {
  readonly sites: SitesRepo;
  readonly gateways: GatewaysRepo;
  readonly inventory: InventoryRepo;
  readonly configs: ConfigsRepo;
  readonly rollouts: RolloutsRepo;
  readonly tokens: TokensRepo;
  readonly audit: AuditRepo;
  readonly telemetry: TelemetryRepo;
  readonly cameraStatus: CameraStatusRepo;
  readonly events: EventsRepo;
  readonly alarms: AlarmsRepo;
  readonly commands: CommandsRepo;
  readonly rules: RulesRepo;
  readonly accounts: AccountsRepo;

  constructor(
    readonly db: Kysely<RegistryTables>,
    readonly dialect: Dialect,
  ) {
    this.sites = new SitesRepo(db);
    this.gateways = new GatewaysRepo(db);
    this.inventory = new InventoryRepo(db);
    this.configs = new ConfigsRepo(db);
    this.rollouts = new RolloutsRepo(db);
    this.tokens = new TokensRepo(db);
    this.audit = new AuditRepo(db);
    this.telemetry = new TelemetryRepo(db, dialect);
    this.cameraStatus = new CameraStatusRepo(db);
    this.events = new EventsRepo(db);
    this.alarms = new AlarmsRepo(db);
    this.commands = new CommandsRepo(db);
    this.rules = new RulesRepo(db);
    this.accounts = new AccountsRepo(db);
  }
}

/**
 * The registry's storage: one Kysely query layer over SQLite (better-sqlite3) or PostgreSQL
 * (pg Pool). Services and tests use the same code on both.
 */
export class RegistryStore extends Repos {
  constructor(
    db: Kysely<RegistryTables>,
    dialect: Dialect,
  ) {
    super(db, dialect);
  }

  /** Runs `fn` in one transaction; repositories passed to it see and write only inside it. */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => fn(new Repos(trx, this.dialect)));
  }

  /** Brings the schema up to date; safe to call on every start. */
  async migrate(): Promise<void> {
    // Migration numbers are reserved per change and may land out of order (0007 before 0005).
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.dialect), allowUnorderedMigrations: true });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new Error(`database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

export const SQLITE_FILE = 'registry.db';

/** Opens (creating if needed) the SQLite database `registry.db` in dataDir, or `file`, and migrates it. */
export async function openSqliteStore(opts: { dataDir?: string; file?: string }): Promise<RegistryStore> {
  let file = opts.file;
  if (file === undefined) {
    if (opts.dataDir === undefined) throw new Error('openSqliteStore needs dataDir or file');
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    file = join(opts.dataDir, SQLITE_FILE);
  }
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const store = new RegistryStore(new Kysely<RegistryTables>({ dialect: new SqliteDialect({ database: sqlite }) }), 'sqlite');
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

const INT8_OID = 20;

/** Opens a PostgreSQL database by URL (postgres://user@host:port/db) and migrates it. */
export async function openPostgresStore(opts: { databaseUrl: string; maxConnections?: number }): Promise<RegistryStore> {
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: opts.maxConnections ?? 10,
    // bigint columns hold ms timestamps and sequence numbers, all far below 2^53.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // An idle pooled connection the server terminates (restart, failover) is an 'error' event on the
  // pool; without a listener it would crash the registry. The pool replaces the connection itself.
  pool.on('error', () => undefined);
  const store = new RegistryStore(new Kysely<RegistryTables>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** PostgreSQL when databaseUrl is given, else SQLite in dataDir. */
export function openStore(opts: { dataDir: string; databaseUrl?: string }): Promise<RegistryStore> {
  return opts.databaseUrl ? openPostgresStore({ databaseUrl: opts.databaseUrl }) : openSqliteStore({ dataDir: opts.dataDir });
}
