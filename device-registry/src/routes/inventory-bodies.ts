import * as z from 'zod';
import { DeviceConfig, FirmataLineBody, problemsFromZod, RtuLine, RtuOverTcpLine, TcpLine } from '@cityedge/contract';
import { RegistryError } from '../errors.js';

/**
 * Line and device bodies are the agent's own schemas (contract config-schema.ts) less what the
 * registry fills in (ids from the path, devices from their records): one rule, one message, the
 * same words from `PUT .../lines/l1` as from `cityedge-agent check-config`. The JSON Schema the
 * OpenAPI document shows is generated from the same zod schemas. A Firmata board has no device
 * records: its devices (groups of pins) are part of its line record.
 */
const lineWithoutRecords = { id: true, devices: true } as const;
export const LineBody = z.discriminatedUnion('type', [RtuLine.omit(lineWithoutRecords), TcpLine.omit(lineWithoutRecords), RtuOverTcpLine.omit(lineWithoutRecords), FirmataLineBody]);

const lineId = RtuLine.shape.id;
/** PUT /v1/gateways/:id/devices/:deviceId (the id is in the path). */
export const DeviceBody = DeviceConfig.omit({ id: true }).extend({ lineId });
/** POST /v1/gateways/:id/devices */
export const NewDeviceBody = DeviceConfig.extend({ lineId });

/** The JSON Schema (draft-07, as Fastify's validator speaks it) of a zod body, for the OpenAPI document. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

/**
 * preValidation hook: the body checked with the contract's zod schema before Fastify's JSON
 * Schema check, so a bad value gets the contract's message (`body.unitId: expected <= 255`).
 * The body is left as sent: defaults are not stored in the records.
 */
export function contractBody(schema: z.ZodType) {
  return async (req: { body: unknown }): Promise<void> => {
    const r = schema.safeParse(req.body, { reportInput: true });
    if (r.success) return;
    const problems = problemsFromZod(r.error, ['body']);
    throw new RegistryError('REG_VALIDATION', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { field: problems[0]!.path, problems });
  };
}
