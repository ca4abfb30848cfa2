import { z } from 'zod';
import { AlarmTransition, type GatewayEvent } from '@cityedge/contract';
import type { ParseResult } from './payloads.js';

/**
 * Runtime check of one event of an EventsMessage (contract telemetry.ts), typed against the
 * contract so a change there breaks the build here. Unknown extra fields are tolerated (forward
 * compatible within v1); the message text is capped.
 */
export const GatewayEventSchema = z.object({
  type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'expected an event type like "device.offline"'),
  ts: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  severity: z.enum(['info', 'warning', 'alarm', 'critical']),
  dev: z.string().min(1).max(64).optional(),
  message: z
    .string()
    .max(64 * 1024)
    .transform((s) => s.slice(0, 2000)),
  data: z.record(z.string(), z.unknown()).optional(),
  alarm: AlarmTransition.optional(),
}) satisfies z.ZodType<GatewayEvent, unknown>;

/** One element of an events message, checked alone so one bad event does not drop the others. */
export function parseGatewayEvent(raw: unknown): ParseResult<GatewayEvent> {
  const r = GatewayEventSchema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
}
