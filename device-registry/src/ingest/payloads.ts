import { z } from 'zod';
import { MAX_REPORTED_PROBLEMS, type ConfigReport, type DeviceProblem, type LineProblem, type Reading, type RuntimeProblems, type StatusMessage, type TelemetryMessage } from '@cityedge/contract';

/**
 * Runtime checks of what gateways publish, typed against the contract's interfaces so a change
 * there breaks the build here. Unknown extra fields are tolerated (forward compatible within v1).
 */

const gatewayId = z.string().min(1).max(63);
const epochMs = z.number().int().min(0);

export const ReadingSchema: z.ZodType<Reading> = z.object({
  dev: z.string().min(1),
  pt: z.string().min(1),
  ts: epochMs,
  v: z.union([z.number(), z.boolean(), z.string(), z.null()]),
  q: z.enum(['good', 'bad']),
  u: z.string().optional(),
  err: z.string().optional(),
});

export const TelemetryMessageSchema: z.ZodType<TelemetryMessage> = z.object({
  v: z.literal(1),
  gw: gatewayId,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  readings: z.array(ReadingSchema),
});

export const StatusMessageSchema: z.ZodType<StatusMessage> = z.object({
  v: z.literal(1),
  gw: gatewayId,
  state: z.enum(['online', 'offline']),
  ts: epochMs,
  agentVersion: z.string().optional(),
  configVersion: z.number().int().min(0).optional(),
  backlog: z.number().int().min(0).optional(),
  devicesFailing: z.number().int().min(0).optional(),
  startedAt: epochMs.optional(),
});

const LineProblemSchema: z.ZodType<LineProblem> = z.object({
  line: z.string().min(1).max(64),
  code: z.string().min(1).max(64),
  cause: z.string().max(32).optional(),
  message: z.string().max(1000),
  since: epochMs,
});

const DeviceProblemSchema: z.ZodType<DeviceProblem> = z.object({
  dev: z.string().min(1).max(64),
  line: z.string().min(1).max(64),
  state: z.enum(['never-answered', 'quarantined', 'failing']),
  code: z.string().max(64).optional(),
  message: z.string().max(1000),
  since: epochMs,
});

const count = z.number().int().min(0);
export const RuntimeProblemsSchema: z.ZodType<RuntimeProblems> = z.object({
  lines: z.array(LineProblemSchema).max(MAX_REPORTED_PROBLEMS.lines),
  devices: z.array(DeviceProblemSchema).max(MAX_REPORTED_PROBLEMS.devices),
  omitted: z.object({ lines: count, devices: count }).optional(),
});

export const ConfigReportSchema: z.ZodType<ConfigReport> = z.object({
  v: z.literal(1),
  gw: gatewayId,
  version: z.number().int().min(0),
  state: z.enum(['delivered', 'applied', 'committed', 'rejected', 'rolled_back']),
  ts: epochMs,
  reason: z.string().max(2000).optional(),
  running: z.number().int().min(0),
  problems: RuntimeProblemsSchema.optional(),
});

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
