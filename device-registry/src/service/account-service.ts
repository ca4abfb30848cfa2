import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RegistryStore } from '../db/store.js';
import { conflict, isUniqueViolation, notFound, RegistryError } from '../errors.js';
import type { Account } from '../repos/accounts-repo.js';
import type { Role } from '../repos/tokens-repo.js';
import { RateLimiter, type RateLimit } from '../security/rate-limiter.js';
import { hashPassword, sha256Hex, verifyPassword } from '../security/secrets.js';
import { actorRef, SYSTEM, type Actor, type CallContext, type ServiceDeps } from './context.js';

export type UserActor = Extract<Actor, { kind: 'user' }>;

export interface AccountServiceOptions {
  /** A session ends after this long without a request; default 8 h. */
  sessionIdleMs?: number;
  /** A session ends this long after sign-in whatever happens; default 7 days. */
  sessionMaxMs?: number;
  /** Wrong passwords per account before it is locked for the rest of the window; default 5 in 15 min. */
  lockout?: RateLimit;
  /** Sign-in attempts per source address; default 20 a minute. */
  signInRateLimit?: RateLimit;
}

export interface AccountInput {
  username: string;
  displayName?: string;
  role: Role;
  password: string;
}

export interface SignedIn {
  /** The cookie value: the only copy, the registry keeps its hash. */
  cookie: string;
  csrfToken: string;
  user: { username: string; displayName: string; role: Role };
  expiresAt: number;
}

/** How often a session's last-seen time is written (idle expiry is this coarse). */
const TOUCH_EVERY_MS = 60_000;

/**
 * Console accounts (people with a password and a role, the same roles as API tokens) and their
 * sessions. Passwords are scrypt hashes; a session is a random 256-bit cookie value stored as its
 * SHA-256, with a CSRF token, an idle and an absolute expiry. Wrong passwords lock an account for
 * a while; sign-in attempts per address are rate limited (both counted in memory, per process).
 */
export class AccountService {
  readonly idleMs: number;
  readonly maxMs: number;
  private readonly lockout: RateLimiter;
  private readonly perAddress: RateLimiter;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    o: AccountServiceOptions = {},
  ) {
    this.idleMs = o.sessionIdleMs ?? 8 * 3600_000;
    this.maxMs = o.sessionMaxMs ?? 7 * 24 * 3600_000;
    this.lockout = new RateLimiter(o.lockout ?? { max: 5, windowMs: 15 * 60_000 }, deps.clock, 100_000);
    this.perAddress = new RateLimiter(o.signInRateLimit ?? { max: 20, windowMs: 60_000 }, deps.clock, 100_000);
  }

  list(): Promise<Account[]> {
    return this.store.accounts.list();
  }

  async get(username: string): Promise<Account> {
    const a = await this.store.accounts.get(username);
    if (!a) throw notFound('account', username);
    return a;
  }

  async create(input: AccountInput, ctx: CallContext): Promise<Account> {
    const now = this.deps.clock.now();
    const account: Account = {
      username: input.username,
      displayName: input.displayName ?? input.username,
      role: input.role,
      disabled: false,
      createdAt: now,
      createdBy: actorRef(ctx),
      updatedAt: now,
    };
    const passwordHash = await hashPassword(input.password);
    try {
      await this.store.transaction(async (tx) => {
        await tx.accounts.insert({ ...account, passwordHash });
        await this.deps.auditor.record(tx, ctx, 'account.create', { type: 'account', id: account.username }, { role: account.role, displayName: account.displayName });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`account "${input.username}" already exists`, 'body.username');
      throw err;
    }
    return account;
  }

  /** Changes the display name, role or disabled flag; disabling ends the account's sessions. */
  async update(username: string, change: { displayName?: string; role?: Role; disabled?: boolean }, ctx: CallContext): Promise<Account> {
    return this.store.transaction(async (tx) => {
      if (!(await tx.accounts.update(username, change, this.deps.clock.now()))) throw notFound('account', username);
      if (change.disabled === true) await tx.accounts.deleteSessionsOf(username);
      await this.deps.auditor.record(tx, ctx, 'account.update', { type: 'account', id: username }, change);
      return (await tx.accounts.get(username))!;
    });
  }

  async delete(username: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (!(await tx.accounts.delete(username))) throw notFound('account', username);
      await this.deps.auditor.record(tx, ctx, 'account.delete', { type: 'account', id: username });
    });
  }

  /**
   * Sets a password: a person changing their own gives the current one; an admin (or the
   * system) sets anyone's. The account's other sessions end.
   */
  async setPassword(username: string, input: { password: string; currentPassword?: string }, ctx: CallContext): Promise<void> {
    const self = ctx.actor.kind === 'user' && ctx.actor.username === username;
    const isAdmin = ctx.actor.kind === 'system' || ((ctx.actor.kind === 'token' || ctx.actor.kind === 'user') && ctx.actor.role === 'admin');
    if (!self && !isAdmin) throw new RegistryError('REG_FORBIDDEN', `only "${username}" or an admin may set this password`);
    const stored = await this.store.accounts.passwordHash(username);
    if (stored === undefined) throw notFound('account', username);
    if (self && !isAdmin) {
      if (input.currentPassword === undefined || !(await verifyPassword(input.currentPassword, stored)))
        throw new RegistryError('REG_FORBIDDEN', 'body.currentPassword: is not the current password', { field: 'body.currentPassword' });
    }
    const passwordHash = await hashPassword(input.password);
    await this.store.transaction(async (tx) => {
      await tx.accounts.update(username, { passwordHash }, this.deps.clock.now());
      await tx.accounts.deleteSessionsOf(username, self && ctx.actor.kind === 'user' ? ctx.actor.sessionId : undefined);
      await this.deps.auditor.record(tx, ctx, 'account.password', { type: 'account', id: username });
    });
  }

  /**
   * At start (`--admin-user` with CITYEDGE_ADMIN_PASSWORD): creates that admin account when it
   * does not exist; an existing account is left as it is. True when created.
   */
  async ensureAdmin(username: string, password: string): Promise<boolean> {
    if (await this.store.accounts.get(username)) return false;
    await this.create({ username, displayName: username, role: 'admin', password }, SYSTEM);
    return true;
  }

  /**
   * Signs in: the same answer, after the same work (one scrypt), for an unknown username, a wrong
   * password and a disabled account. Refused while the account is locked or the address over its rate.
   */
  async signIn(usernameIn: string, password: string, sourceIp: string): Promise<SignedIn> {
    const username = usernameIn.trim().toLowerCase();
    const wait = this.perAddress.hit(sourceIp);
    if (wait > 0) throw new RegistryError('REG_RATE_LIMITED', `too many sign-in attempts from ${sourceIp}; retry in ${wait} s`, { headers: { 'retry-after': String(wait) } });
    const locked = this.lockout.peek(username);
    if (locked > 0) throw new RegistryError('REG_ACCOUNT_LOCKED', `too many wrong passwords for this account; retry in ${locked} s`, { headers: { 'retry-after': String(locked) } });
    const account = await this.store.accounts.get(username);
    const stored = (account && (await this.store.accounts.passwordHash(username))) ?? (await this.dummy());
    const ok = (await verifyPassword(password, stored)) && account !== undefined && !account.disabled;
    if (!ok || !account) {
      this.lockout.hit(username);
      this.deps.logger.info({ username, sourceIp }, 'sign-in refused');
      throw new RegistryError('REG_BAD_CREDENTIALS', 'unknown username or wrong password');
    }
    this.lockout.reset(username);
    const now = this.deps.clock.now();
    const cookie = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = now + this.maxMs;
    const idHash = sha256Hex(cookie);
    const actor: UserActor = { kind: 'user', username, displayName: account.displayName, role: account.role, sessionId: idHash, csrfToken };
    await this.store.transaction(async (tx) => {
      await tx.accounts.deleteExpiredSessions(now, now - this.idleMs);
      await tx.accounts.insertSession(idHash, { username, csrfToken, createdAt: now, lastSeenAt: now, expiresAt, sourceIp });
      await this.deps.auditor.record(tx, { actor, sourceIp }, 'session.create', { type: 'account', id: username });
    });
    return { cookie, csrfToken, user: { username, displayName: account.displayName, role: account.role }, expiresAt };
  }

  /** The person behind a session cookie, or undefined when unknown, expired, idle too long or the account is disabled. */
  async authenticate(cookie: string): Promise<UserActor | undefined> {
    if (cookie.length < 20 || cookie.length > 100) return undefined;
    const idHash = sha256Hex(cookie);
    const found = await this.store.accounts.session(idHash);
    if (!found) return undefined;
    const { session, account } = found;
    const now = this.deps.clock.now();
    if (now >= session.expiresAt || now - session.lastSeenAt >= this.idleMs || account.disabled) {
      await this.store.accounts.deleteSession(idHash);
      return undefined;
    }
    if (now - session.lastSeenAt >= TOUCH_EVERY_MS) await this.store.accounts.touchSession(idHash, now);
    return { kind: 'user', username: account.username, displayName: account.displayName, role: account.role, sessionId: idHash, csrfToken: session.csrfToken };
  }

  async signOut(actor: UserActor, sourceIp: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.accounts.deleteSession(actor.sessionId);
      await this.deps.auditor.record(tx, { actor, sourceIp }, 'session.delete', { type: 'account', id: actor.username });
    });
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.dummyHash;
  }
}

/** Constant-time comparison of a CSRF header with the session's token. */
export function csrfMatches(sent: unknown, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
