import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../errors.js';
import { BEARER_SECURITY, ctxOf, PUBLIC, requireRole, SESSION_COOKIE, sessionActor } from '../http/auth.js';
import { body, errorResponses, noContent, object, params, slug, text, ts } from '../http/schemas.js';
import type { Role } from '../repos/tokens-repo.js';
import type { AccountService } from '../service/account-service.js';
import { ROLES } from '../service/token-service.js';
import type { RouteOptions } from './route-options.js';

const role = { type: 'string', enum: [...ROLES] };
const accountSchema = object({ username: { type: 'string' }, displayName: { type: 'string' }, role, disabled: { type: 'boolean' }, createdAt: ts, createdBy: { type: 'string' }, updatedAt: ts });
const userSchema = object({ username: { type: 'string' }, displayName: { type: 'string' }, role });
const sessionSchema = object({ user: userSchema, csrfToken: { type: 'string', description: 'Send it as header x-csrf-token with every POST, PUT, PATCH and DELETE of this session' }, expiresAt: ts });
const password = text(256, { minLength: 8, description: 'At least 8 characters' });

/** `cityedge_session=...; HttpOnly; SameSite=Strict; Path=/` (+ Secure over https); empty with Max-Age=0 to clear. */
function sessionCookie(req: FastifyRequest, value: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${req.protocol === 'https' ? '; Secure' : ''}`;
}

function clearCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', sessionCookie(req, '', 0));
}

export async function accountRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const accounts: AccountService = services.accounts;
  const admin = requireRole(services, 'admin');
  const viewer = requireRole(services, 'viewer');
  const security = BEARER_SECURITY;

  // --- sessions (the console's sign-in) ---
  const tags = ['session'];
  app.post<{ Body: { username: string; password: string } }>(
    '/v1/session',
    {
      schema: {
        tags,
        operationId: 'signIn',
        summary: 'Sign in to the console with a username and password: sets the session cookie',
        description:
          'Answers the user and the CSRF token and sets `cityedge_session` (HttpOnly, SameSite=Strict, Secure over https). 401 REG_BAD_CREDENTIALS for an unknown username, a wrong password or a disabled account alike; 429 REG_ACCOUNT_LOCKED after 5 wrong passwords for the account within 15 min; 429 REG_RATE_LIMITED over 20 attempts a minute from one address.',
        security: PUBLIC,
        body: body({ username: text(64), password: text(256) }, ['username', 'password']),
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const s = await accounts.signIn(req.body.username, req.body.password, req.ip);
      reply.header('set-cookie', sessionCookie(req, s.cookie, Math.floor(accounts.maxMs / 1000))).header('cache-control', 'no-store');
      return { user: s.user, csrfToken: s.csrfToken, expiresAt: s.expiresAt };
    },
  );

  app.get(
    '/v1/session',
    { schema: { tags, operationId: 'getSession', summary: 'The signed-in user and the CSRF token of the session cookie; 401 without a live session', security: [{ sessionCookie: [] }], response: { 200: sessionSchema, ...errorResponses } } },
    async (req, reply) => {
      const actor = await sessionActor(services, req);
      if (!actor) throw new RegistryError('REG_UNAUTHORIZED', 'not signed in (no session cookie)');
      const found = await services.store.accounts.session(actor.sessionId);
      reply.header('cache-control', 'no-store');
      return { user: { username: actor.username, displayName: actor.displayName, role: actor.role }, csrfToken: actor.csrfToken, expiresAt: found?.session.expiresAt ?? 0 };
    },
  );

  app.delete(
    '/v1/session',
    { schema: { tags, operationId: 'signOut', summary: 'Sign out: ends the session and clears the cookie (needs x-csrf-token)', security: [{ sessionCookie: [] }], response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      let actor;
      try {
        actor = await sessionActor(services, req);
      } catch (err) {
        // An expired or unknown session is signed out already.
        if (!(err instanceof RegistryError && err.code === 'REG_UNAUTHORIZED')) throw err;
      }
      if (actor) await accounts.signOut(actor, req.ip);
      clearCookie(req, reply);
      return reply.code(204).send();
    },
  );

  // --- accounts ---
  const atags = ['accounts'];
  app.get('/v1/accounts', { onRequest: admin, schema: { tags: atags, operationId: 'listAccounts', summary: 'List console accounts (admin)', security, response: { 200: object({ accounts: { type: 'array', items: accountSchema } }), ...errorResponses } } }, async () => ({
    accounts: await accounts.list(),
  }));

  app.post<{ Body: { username: string; displayName?: string; role: Role; password: string } }>(
    '/v1/accounts',
    {
      onRequest: admin,
      schema: {
        tags: atags,
        operationId: 'createAccount',
        summary: 'Create a console account (admin)',
        security,
        body: body({ username: slug, displayName: text(200), role, password }, ['username', 'role', 'password']),
        response: { 201: accountSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await accounts.create(req.body, ctxOf(req))),
  );

  app.get<{ Params: { username: string } }>(
    '/v1/accounts/:username',
    { onRequest: admin, schema: { tags: atags, operationId: 'getAccount', summary: 'Get a console account (admin)', security, params: params('username'), response: { 200: accountSchema, ...errorResponses } } },
    async (req) => accounts.get(req.params.username),
  );

  app.patch<{ Params: { username: string }; Body: { displayName?: string; role?: Role; disabled?: boolean } }>(
    '/v1/accounts/:username',
    {
      onRequest: admin,
      schema: {
        tags: atags,
        operationId: 'updateAccount',
        summary: "Change an account's display name, role or disabled flag; disabling ends its sessions (admin)",
        security,
        params: params('username'),
        body: body({ displayName: text(200), role, disabled: { type: 'boolean' } }),
        response: { 200: accountSchema, ...errorResponses },
      },
    },
    async (req) => accounts.update(req.params.username, req.body, ctxOf(req)),
  );

  app.delete<{ Params: { username: string } }>(
    '/v1/accounts/:username',
    { onRequest: admin, schema: { tags: atags, operationId: 'deleteAccount', summary: 'Delete a console account and its sessions (admin)', security, params: params('username'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await accounts.delete(req.params.username, ctxOf(req));
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { username: string }; Body: { password: string; currentPassword?: string } }>(
    '/v1/accounts/:username/password',
    {
      onRequest: viewer,
      schema: {
        tags: atags,
        operationId: 'setAccountPassword',
        summary: 'Set a password: your own (with currentPassword) or anyone\'s (admin); the account\'s other sessions end',
        security,
        params: params('username'),
        body: body({ password, currentPassword: text(256) }, ['password']),
        response: { ...noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await accounts.setPassword(req.params.username, req.body, ctxOf(req));
      return reply.code(204).send();
    },
  );
}
