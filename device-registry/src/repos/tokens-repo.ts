import type { Kysely, Selectable } from 'kysely';
import type { ApiTokensTable, RegistryTables } from '../db/schema.js';
import { affected } from './json.js';

export type Role = 'admin' | 'technician' | 'viewer';

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

const toToken = (r: Selectable<ApiTokensTable>): ApiToken => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
});

export class TokensRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async insert(t: ApiToken & { tokenHash: string }): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({ id: t.id, name: t.name, role: t.role, token_hash: t.tokenHash, created_at: t.createdAt, created_by: t.createdBy, revoked_at: t.revokedAt })
      .execute();
  }

  async byHash(tokenHash: string): Promise<ApiToken | undefined> {
    const r = await this.db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r && toToken(r);
  }

  async get(id: string): Promise<ApiToken | undefined> {
    const r = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toToken(r);
  }

  async list(): Promise<ApiToken[]> {
    return (await this.db.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id').execute()).map(toToken);
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countActiveAdmins(): Promise<number> {
    const r = await this.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async revoke(id: string, now: number): Promise<boolean> {
    return affected(await this.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()) > 0;
  }
}
