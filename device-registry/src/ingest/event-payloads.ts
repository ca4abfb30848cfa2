import { GatewayEvent } from '@cityedge/contract';
import type { ParseResult } from './payloads.js';

/** An event as the registry stores it: the contract's schema, the message cut to 2,000 characters. */
export const StoredGatewayEvent = GatewayEvent.transform((e) => ({ ...e, message: e.message.slice(0, 2000) }));

/** One element of an events message, checked alone so one bad event does not drop the others. */
export function parseGatewayEvent(raw: unknown): ParseResult<GatewayEvent> {
  const r = StoredGatewayEvent.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
}
