import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Repos } from '../db/store.js';
import type { Role } from '../repos/tokens-repo.js';
import type { EventHub } from './event-hub.js';

/** Who does something: an operator's API token, a person signed in to the console, a gateway, the enrollment endpoint or the registry itself. */
export type Actor =
  | { kind: 'token'; id: string; name: string; role: Role }
  | { kind: 'user'; username: string; displayName: string; role: Role; /** SHA-256 of the session cookie */ sessionId: string; csrfToken: string }
  | { kind: 'gateway'; id: string }
  | { kind: 'enrollment' }
  | { kind: 'system' };

/** The caller of a service method: who, and from which address (for the audit log). */
export interface CallContext {
  actor: Actor;
  sourceIp?: string;
}

export const SYSTEM: CallContext = { actor: { kind: 'system' } };

export function actorId(a: Actor): string {
  switch (a.kind) {
    case 'token':
      return `token:${a.id}`;
    case 'gateway':
      return `gateway:${a.id}`;
    case 'user':
      return `user:${a.username}`;
    default:
      return a.kind;
  }
}

function actorName(a: Actor): string | null {
  return a.kind === 'token' ? a.name : a.kind === 'user' ? a.displayName : null;
}

/** Who created a record, as tokens, accounts and enrollment codes keep it: `token:<id>`, `user:<username>` or the kind. */
export function actorRef(ctx: CallContext): string {
  const a = ctx.actor;
  return a.kind === 'token' || a.kind === 'user' ? actorId(a) : a.kind;
}

/** Who did it, as records show it (createdBy, acknowledgedBy, a command's actor): a token's name, `user:<username>`, `gateway:<id>` or the kind. */
export function actorLabel(ctx: CallContext): string {
  const a = ctx.actor;
  return a.kind === 'token' ? a.name : a.kind === 'gateway' || a.kind === 'user' ? actorId(a) : a.kind;
}

const SECRET_KEYS = /^(password|passwd|secret|token|code|enrollmentcode|passwordhash|privatekeypem|sig|authorization)$/i;

/** Replaces any value under a secret-looking key, at any depth: a last line of defence. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

/** Writes audit entries in the caller's transaction, so a change and its entry commit together. */
export class Auditor {
  constructor(private readonly clock: Clock) {}

  async record(repos: Repos, ctx: CallContext, action: string, target: { type: string; id: string | null }, details?: Record<string, unknown>): Promise<void> {
    await repos.audit.insert({
      ts: this.clock.now(),
      actor: { id: actorId(ctx.actor), name: actorName(ctx.actor) },
      action,
      target,
      details: details === undefined ? null : (redact(details) as Record<string, unknown>),
      sourceIp: ctx.sourceIp ?? null,
    });
  }
}

/** What every service gets from the composition root. */
export interface ServiceDeps {
  clock: Clock;
  logger: Logger;
  auditor: Auditor;
  /** Live changes to the console's event streams (published after commit). */
  hub: EventHub;
}
