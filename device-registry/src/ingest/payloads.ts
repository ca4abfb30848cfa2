import type * as z from 'zod';

/**
 * How the registry reads what gateways publish: JSON, then one of the contract's payload schemas
 * (contract/src/payloads.ts, camera-payloads.ts: the same schemas the agent's types come from).
 */

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: string };

/** JSON.parse plus schema check; never throws. */
export function parsePayload<T>(schema: z.ZodType<T>, payload: Buffer, maxBytes: number): ParseResult<T> {
  if (payload.length > maxBytes) return { ok: false, problem: `payload of ${payload.length} bytes exceeds ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
}
