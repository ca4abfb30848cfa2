import type { Kysely, Selectable } from 'kysely';
import type { AccountsTable } from '../db/accounts-schema.js';
import type { RegistryTables } from '../db/schema.js';
import { affected } from './json.js';
import type { Role } from './tokens-repo.js';

/** A console account as the API shows it (never the password hash). */
export interface Account {
  username: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

export interface StoredSession {
  username: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

const toAccount = (r: Selectable<AccountsTable>): Account => ({
  username: r.username,
  displayName: r.display_name,
  role: r.role as Role,
  disabled: r.disabled !== 0,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
});

/** Console accounts and their sessions. */
export class AccountsRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async insert(a: Account & { passwordHash: string }): Promise<void> {
    await this.db
      .insertInto('accounts')
      .values({ username: a.username, display_name: a.displayName, role: a.role, password_hash: a.passwordHash, disabled: a.disabled ? 1 : 0, created_at: a.createdAt, created_by: a.createdBy, updated_at: a.updatedAt })
      .execute();
  }

  async get(username: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst();
    return r && toAccount(r);
  }

  async passwordHash(username: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('accounts').select('password_hash').where('username', '=', username).executeTakeFirst();
    return r?.password_hash;
  }

  async list(): Promise<Account[]> {
    return (await this.db.selectFrom('accounts').selectAll().orderBy('username').execute()).map(toAccount);
  }

  async update(username: string, change: { displayName?: string; role?: Role; disabled?: boolean; passwordHash?: string }, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('accounts')
      .set({
        updated_at: now,
        ...(change.displayName !== undefined && { display_name: change.displayName }),
        ...(change.role !== undefined && { role: change.role }),
        ...(change.disabled !== undefined && { disabled: change.disabled ? 1 : 0 }),
        ...(change.passwordHash !== undefined && { password_hash: change.passwordHash }),
      })
      .where('username', '=', username)
      .executeTakeFirst();
    return affected(res) > 0;
  }

  async delete(username: string): Promise<boolean> {
    await this.db.deleteFrom('sessions').where('username', '=', username).execute();
    return affected(await this.db.deleteFrom('accounts').where('username', '=', username).executeTakeFirst()) > 0;
  }

  async countEnabledAdmins(): Promise<number> {
    const r = await this.db
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .where('disabled', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async insertSession(idHash: string, s: StoredSession & { sourceIp: string | null }): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({ id_hash: idHash, username: s.username, csrf_token: s.csrfToken, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt, source_ip: s.sourceIp })
      .execute();
  }

  /** The session and its (current) account. */
  async session(idHash: string): Promise<{ session: StoredSession; account: Account } | undefined> {
    const r = await this.db
      .selectFrom('sessions')
      .innerJoin('accounts', 'accounts.username', 'sessions.username')
      .selectAll('accounts')
      .select(['sessions.csrf_token', 'sessions.created_at as s_created_at', 'sessions.last_seen_at', 'sessions.expires_at'])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!r) return undefined;
    return { session: { username: r.username, csrfToken: r.csrf_token, createdAt: r.s_created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at }, account: toAccount(r) };
  }

  async touchSession(idHash: string, now: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  /** Ends an account's sessions, but `keep` (the caller's own, after a password change). */
  async deleteSessionsOf(username: string, keep?: string): Promise<void> {
    let q = this.db.deleteFrom('sessions').where('username', '=', username);
    if (keep !== undefined) q = q.where('id_hash', '!=', keep);
    await q.execute();
  }

  /** Removes sessions past their absolute expiry or idle since before `idleBefore`. */
  async deleteExpiredSessions(now: number, idleBefore: number): Promise<void> {
    await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)]))
      .execute();
  }
}
