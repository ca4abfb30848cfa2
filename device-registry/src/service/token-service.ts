import type { RegistryStore } from '../db/store.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { ApiToken, Role } from '../repos/tokens-repo.js';
import { randomApiToken, randomId, sha256Hex } from '../security/secrets.js';
import { actorRef, SYSTEM, type Actor, type CallContext, type ServiceDeps } from './context.js';

export const ROLES: readonly Role[] = ['viewer', 'technician', 'admin'];

/** True when `have` includes everything `need` may do: viewer < technician < admin. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Operator API tokens (Bearer), stored as SHA-256: the token itself is shown once, at creation. */
export class TokenService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
  ) {}

  /** The actor behind a bearer token, or undefined for an unknown or revoked one. */
  async authenticate(token: string): Promise<Extract<Actor, { kind: 'token' }> | undefined> {
    if (token.length < 16 || token.length > 256) return undefined;
    const t = await this.store.tokens.byHash(sha256Hex(token));
    if (!t || t.revokedAt !== null) return undefined;
    return { kind: 'token', id: t.id, name: t.name, role: t.role };
  }

  async create(input: { name: string; role: Role }, ctx: CallContext): Promise<{ token: string; info: ApiToken }> {
    return this.insert(input.name, input.role, randomApiToken(), ctx);
  }

  list(): Promise<ApiToken[]> {
    return this.store.tokens.list();
  }

  async revoke(id: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      const t = await tx.tokens.get(id);
      if (!t) throw notFound('token', id);
      if (t.revokedAt !== null) return;
      if (t.role === 'admin' && (await tx.tokens.countActiveAdmins()) <= 1) throw conflict('this is the last admin token; create another admin token before revoking it');
      await tx.tokens.revoke(id, this.deps.clock.now());
      await this.deps.auditor.record(tx, ctx, 'token.revoke', { type: 'token', id }, { name: t.name, role: t.role });
    });
  }

  /**
   * At start: with `envToken` (REGISTRY_ADMIN_TOKEN) make sure that token is a valid admin token;
   * without it, create a random admin token when there is no token at all. Returns the token to
   * print once when a random one was created.
   */
  async ensureBootstrapAdmin(envToken?: string): Promise<{ token?: string; created: boolean }> {
    if (envToken !== undefined) {
      if (envToken.length < 20) throw invalid('REGISTRY_ADMIN_TOKEN', 'must be at least 20 characters');
      const existing = await this.store.tokens.byHash(sha256Hex(envToken));
      if (existing && existing.revokedAt === null && existing.role === 'admin') return { created: false };
      if (existing) throw invalid('REGISTRY_ADMIN_TOKEN', 'this token was revoked or is not an admin token; choose another');
      await this.insert('env-admin', 'admin', envToken, SYSTEM);
      return { created: true };
    }
    if ((await this.store.tokens.count()) > 0) return { created: false };
    const { token } = await this.insert('bootstrap-admin', 'admin', randomApiToken(), SYSTEM);
    return { token, created: true };
  }

  private async insert(name: string, role: Role, token: string, ctx: CallContext): Promise<{ token: string; info: ApiToken }> {
    const info: ApiToken = { id: randomId(), name, role, createdAt: this.deps.clock.now(), createdBy: actorRef(ctx), revokedAt: null };
    await this.store.transaction(async (tx) => {
      await tx.tokens.insert({ ...info, tokenHash: sha256Hex(token) });
      await this.deps.auditor.record(tx, ctx, 'token.create', { type: 'token', id: info.id }, { name, role });
    });
    return { token, info };
  }
}
