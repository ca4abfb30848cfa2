import { invalid } from '../errors.js';

/**
 * JSON Schemas shared by the route plugins. Bodies are validated without type coercion and
 * unknown keys are refused, so a wrong type or a typo is a 400 naming the field. Numbers in
 * paths and query strings are digit strings, parsed by the routes.
 */
export const ERROR_SCHEMA_ID = 'RegistryError';

export const errorSchema = {
  $id: ERROR_SCHEMA_ID,
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable code from the catalogue (README.md)' },
        message: { type: 'string', description: 'What is wrong, naming the field' },
        field: { type: 'string', description: 'The field at fault, e.g. body.unitId' },
        problems: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
  },
} as const;

export const errorResponses = {
  '4xx': { $ref: `${ERROR_SCHEMA_ID}#` },
  '5xx': { $ref: `${ERROR_SCHEMA_ID}#` },
} as const;

export const text = (maxLength: number, extra: Record<string, unknown> = {}) => ({ type: 'string', minLength: 1, maxLength, ...extra });
export const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
export const nullable = <T extends { type: string }>(s: T) => ({ ...s, type: [s.type, 'null'] });
export const ts = { type: 'integer', description: 'ms since the Unix epoch' } as const;
export const tsOrNull = { type: ['integer', 'null'], description: 'ms since the Unix epoch' } as const;
export const strOrNull = { type: ['string', 'null'] } as const;
export const intOrNull = { type: ['integer', 'null'] } as const;
export const anyObject = { type: 'object', additionalProperties: true } as const;

/** Ids chosen by people (sites, cameras): lowercase letters, digits, '.', '_' and '-'. */
export const slug = text(64, { pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' });
export const digits = (maxDigits: number) => ({ type: 'string', pattern: `^[0-9]{1,${maxDigits}}$` });

export function body(properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', additionalProperties: false, properties, required } as const;
}

export function params(...names: string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1, maxLength: 128 }])),
    required: names,
  } as const;
}

export function query(properties: Record<string, unknown>) {
  return { type: 'object', additionalProperties: false, properties } as const;
}

export function object(properties: Record<string, unknown>, required: string[] = Object.keys(properties)) {
  return { type: 'object', properties, required } as const;
}

export const noContent = { 204: { type: 'null', description: 'Done' } } as const;

/** Parses a digit-string query or path value within bounds; `field` names it in the error. */
export function parseCount(value: string | undefined, field: string, min: number, max: number, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw invalid(field, 'is required');
    return fallback;
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(field, `must be ${min}..${max}`);
  return n;
}

/** preValidation hook for routes whose body is all optional: no body at all counts as `{}`. */
export async function emptyBodyIsObject(req: { body: unknown }): Promise<void> {
  if (req.body === undefined || req.body === null) req.body = {};
}
