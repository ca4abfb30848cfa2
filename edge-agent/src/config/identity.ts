import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { EdgeError, type EnrollResponse } from '@cityedge/contract';
import { writeFileAtomic } from './atomic-file.js';

/** What enrollment gives a gateway: who it is, how it reaches the broker, whose configurations it trusts. */
export const Identity = z.object({
  gatewayId: z.string().min(1),
  mqtt: z.object({ url: z.string().min(1), username: z.string().min(1), password: z.string().min(1), topicPrefix: z.string().min(1) }),
  configPublicKeys: z.array(z.string().min(1)).min(1),
  registryUrl: z.string().min(1),
  enrolledAt: z.int(),
});
export type Identity = z.infer<typeof Identity>;

export class EnrollError extends EdgeError<'EDGE_ENROLL_UNREACHABLE' | 'EDGE_ENROLL_REFUSED' | 'EDGE_ENROLL_EXISTS' | 'EDGE_ENROLL_BAD_ANSWER'> {
  override readonly name = 'EnrollError';
}

export const identityPath = (stateDir: string) => join(stateDir, 'identity.json');

/** The stored identity, or undefined when this gateway has not been enrolled. */
export function loadIdentity(stateDir: string): Identity | undefined {
  const path = identityPath(stateDir);
  if (!existsSync(path)) return undefined;
  const parsed = Identity.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new EnrollError('EDGE_ENROLL_BAD_ANSWER', `${path} is not a valid identity file; enroll again with --force`);
  return parsed.data;
}

/**
 * Exchanges a one-time enrollment code for the gateway's identity and stores it in the state
 * directory, readable by the agent's user only. Secrets are never logged or printed.
 */
export async function enroll(opts: { registryUrl: string; code: string; stateDir: string; force?: boolean; timeoutMs?: number }): Promise<Identity> {
  if (!opts.force && existsSync(identityPath(opts.stateDir))) {
    throw new EnrollError('EDGE_ENROLL_EXISTS', `this gateway is already enrolled (${identityPath(opts.stateDir)}); use --force to enroll it again`);
  }
  // relative to the registry URL, which may carry a path prefix (https://ioc.example.vn/registry)
  const url = new URL('v1/enroll', opts.registryUrl.replace(/\/*$/, '/')).toString();
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: opts.code, hostname: hostname() }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
  } catch (err) {
    throw new EnrollError('EDGE_ENROLL_UNREACHABLE', `cannot reach the registry at ${opts.registryUrl}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | EnrollResponse | undefined;
  if (!res.ok) {
    const e = body && 'error' in body ? body.error : undefined;
    throw new EnrollError('EDGE_ENROLL_REFUSED', `the registry refused the code: ${e?.message ?? `HTTP ${res.status}`}${e?.code ? ` (${e.code})` : ''}`);
  }
  const parsed = Identity.omit({ enrolledAt: true }).safeParse(body);
  if (!parsed.success) throw new EnrollError('EDGE_ENROLL_BAD_ANSWER', `the registry's answer is not an enrollment: ${parsed.error.issues[0]?.message}`);
  const identity: Identity = { ...parsed.data, enrolledAt: Date.now() };
  writeFileAtomic(identityPath(opts.stateDir), JSON.stringify(identity, null, 2) + '\n', 0o600);
  return identity;
}
