import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { RegistryError } from '../errors.js';
import { RateLimiter } from '../security/rate-limiter.js';
import type { Role } from '../repos/tokens-repo.js';
import type { Actor, CallContext } from '../service/context.js';
import type { RegistryServices } from '../service/registry-services.js';
import { csrfMatches } from '../service/account-service.js';
import { roleAllows } from '../service/token-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

const BEARER_CHALLENGE = { 'www-authenticate': 'Bearer realm="cityedge-registry"' };
const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="cityedge-registry", charset="UTF-8"' };

export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('actor', null);
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

function basic(req: FastifyRequest): { user: string; password: string } | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h) : null;
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The console's session cookie. */
export const SESSION_COOKIE = 'cityedge_session';
const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The value of cookie `name` in the request's Cookie header(s). */
export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The person behind the session cookie, or undefined without one. A cookie that no longer
 * names a session is a 401; a cookie request with an unsafe method needs `x-csrf-token`.
 */
export async function sessionActor(services: RegistryServices, req: FastifyRequest): Promise<Extract<Actor, { kind: 'user' }> | undefined> {
  const cookie = cookieOf(req, SESSION_COOKIE);
  if (!cookie) return undefined;
  const actor = await services.accounts.authenticate(cookie);
  if (!actor) throw new RegistryError('REG_UNAUTHORIZED', 'the session has expired or was ended; sign in again');
  if (UNSAFE_METHODS.has(req.method) && !csrfMatches(req.headers['x-csrf-token'], actor.csrfToken))
    throw new RegistryError('REG_CSRF', `${req.method} with the session cookie needs header x-csrf-token equal to the session's csrfToken (GET /v1/session)`);
  return actor;
}

async function operator(services: RegistryServices, req: FastifyRequest, role: Role): Promise<void> {
  const token = bearer(req);
  let actor: Extract<Actor, { kind: 'token' | 'user' }> | undefined;
  if (token) {
    actor = await services.tokens.authenticate(token);
    if (!actor) throw new RegistryError('REG_UNAUTHORIZED', 'unknown or revoked API token', { headers: BEARER_CHALLENGE });
  } else {
    actor = await sessionActor(services, req);
    if (!actor) throw new RegistryError('REG_UNAUTHORIZED', 'missing credentials: send "Authorization: Bearer <token>" or sign in (POST /v1/session)', { headers: BEARER_CHALLENGE });
  }
  if (!roleAllows(actor.role, role)) throw new RegistryError('REG_FORBIDDEN', `role "${actor.role}" may not ${req.method} ${req.routeOptions.url ?? req.url}; it needs "${role}" or above`);
  req.actor = actor;
}

/** onRequest hook: a Bearer token or a console session with at least `role` (viewer < technician < admin). */
export function requireRole(services: RegistryServices, role: Role): onRequestAsyncHookHandler {
  return async (req) => operator(services, req, role);
}

/**
 * onRequest hook for a gateway's own resources: HTTP Basic with the gateway's MQTT username
 * (its id, which must be the `:id` of the route) and password, or an operator Bearer token.
 */
export function requireGatewayOrRole(services: RegistryServices, role: Role, maxFailuresPerMinute = 30): onRequestAsyncHookHandler {
  // A check may cost an scrypt (gateways enrolled before sha256 hashes): failed attempts per address are capped so guessing cannot load the CPU.
  const failures = new RateLimiter({ max: maxFailuresPerMinute, windowMs: 60_000 }, services.clock, 10_000);
  return async (req) => {
    const creds = basic(req);
    if (!creds) return operator(services, req, role);
    const gatewayId = (req.params as { id?: string }).id;
    const wait = failures.peek(req.ip);
    if (wait > 0) throw new RegistryError('REG_RATE_LIMITED', `too many failed gateway logins from ${req.ip}; retry in ${wait} s`, { headers: { 'retry-after': String(wait) } });
    if (!(await services.credentials.verify(creds.user, creds.password))) {
      failures.hit(req.ip);
      throw new RegistryError('REG_UNAUTHORIZED', 'unknown gateway or wrong password', { headers: BASIC_CHALLENGE });
    }
    if (creds.user !== gatewayId) throw new RegistryError('REG_FORBIDDEN', `gateway "${creds.user}" may only read its own resources`);
    req.actor = { kind: 'gateway', id: creds.user };
  };
}

export function ctxOf(req: FastifyRequest): CallContext {
  if (!req.actor) throw new RegistryError('REG_UNAUTHORIZED', 'not authenticated');
  return { actor: req.actor, sourceIp: req.ip };
}

/** OpenAPI security requirement for the routes of each kind. */
export const BEARER_SECURITY: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { sessionCookie: [] }];
/** Public routes say so explicitly (`security: []`), so a reader never has to guess. */
export const PUBLIC: Array<Record<string, string[]>> = [];
export const GATEWAY_SECURITY: Array<Record<string, string[]>> = [{ gatewayBasic: [] }, { bearerAuth: [] }, { sessionCookie: [] }];
