import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, ctxOf, GATEWAY_SECURITY, requireGatewayOrRole, requireRole } from '../http/auth.js';
import { anyObject, body, digits, emptyBodyIsObject, errorResponses, object, params, parseCount, strOrNull, text, ts } from '../http/schemas.js';
import type { ConfigVersion, ConfigVersionSummary } from '../repos/configs-repo.js';
import { notFound } from '../errors.js';
import type { IssuedConfig } from '../service/config-service.js';
import type { RouteOptions } from './route-options.js';

const summarySchema = object({
  gatewayId: { type: 'string' },
  version: { type: 'integer' },
  source: { type: 'string', enum: ['composed', 'document', 'rollback'] },
  basedOn: { type: ['integer', 'null'], description: 'For a rollback: the version whose document was re-issued' },
  rolloutId: strOrNull,
  note: strOrNull,
  createdBy: { type: 'string' },
  createdAt: ts,
  state: { type: 'string', enum: ['pending', 'delivered', 'applied', 'committed', 'rejected', 'rolled_back'] },
  reason: strOrNull,
  stateAt: ts,
});
/** A version just issued: its summary and whether the gateway can take it now. */
const issuedSchema = {
  ...summarySchema,
  required: [...summarySchema.required, 'delivery'],
  properties: {
    ...summarySchema.properties,
    delivery: object({
      gateway: { type: 'string', enum: ['never-connected', 'offline', 'online'], description: 'never-connected: not enrolled, or enrolled and never online; it reports nothing until it connects' },
      message: { type: 'string' },
    }),
  },
};
const fullSchema = { ...summarySchema, required: [...summarySchema.required, 'document', 'signed'], properties: { ...summarySchema.properties, document: anyObject, signed: anyObject } };
const noteBody = body({ note: text(500) });
const versionParams = { ...params('id', 'version'), properties: { id: params('id').properties.id, version: digits(15) } };

/** A strong ETag per gateway and version: a new version always changes it. */
export function configEtag(gatewayId: string, version: number): string {
  return `"${gatewayId}.${version}"`;
}

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

const summary = (c: ConfigVersionSummary) => c;
const issued = (c: IssuedConfig) => c;
const full = (c: ConfigVersion) => c;

export async function configRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['configuration'];
  const viewer = requireRole(services, 'viewer');
  const technician = requireRole(services, 'technician');
  const security = BEARER_SECURITY;

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/config',
    {
      onRequest: requireGatewayOrRole(services, 'viewer'),
      schema: {
        tags,
        operationId: 'getSignedConfig', summary: "The gateway's newest signed configuration (HTTP fallback to the retained MQTT message)",
        description: 'Gateways authenticate with HTTP Basic (MQTT username and password); operators with a Bearer token. Send If-None-Match with the last ETag: 304 when unchanged.',
        security: GATEWAY_SECURITY,
        params: params('id'),
        response: { 200: { ...anyObject, description: 'SignedConfig (contract signed-config.ts)' }, 304: { type: 'null', description: 'Not modified' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const c = await services.configs.current(req.params.id);
      if (!c) throw notFound(`configuration for gateway`, req.params.id);
      const etag = configEtag(c.gatewayId, c.version);
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matches(req.headers['if-none-match'], etag)) return reply.code(304).send();
      return c.signed;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/config/preview',
    {
      onRequest: viewer,
      schema: { tags, operationId: 'previewConfig', summary: "The document the gateway's records give now, with its problems; nothing is issued", security, params: params('id'), response: { 200: object({ document: anyObject, problems: { type: 'array', items: object({ path: { type: 'string' }, message: { type: 'string' } }) } }), ...errorResponses } },
    },
    async (req) => services.configs.preview(req.params.id),
  );

  app.post<{ Params: { id: string }; Body: { note?: string } | undefined }>(
    '/v1/gateways/:id/configs',
    { onRequest: technician, preValidation: emptyBodyIsObject, schema: { tags, operationId: 'pushConfig', summary: "Compose the gateway's configuration from its records, sign, store and publish it as the next version (technician)", security, params: params('id'), body: noteBody, response: { 201: issuedSchema, ...errorResponses } } },
    async (req, reply) => {
      const note = req.body?.note;
      return reply.code(201).send(issued(await services.configs.issue(req.params.id, { kind: 'composed' }, ctxOf(req), note === undefined ? {} : { note })));
    },
  );

  app.put<{ Params: { id: string }; Body: { document: Record<string, unknown>; note?: string } }>(
    '/v1/gateways/:id/config',
    {
      onRequest: technician,
      schema: {
        tags,
        operationId: 'putConfigDocument', summary: 'Issue a whole configuration document as the next version (technician)',
        description: 'The document is validated with the agent schema; `version` is set by the registry and `gateway.id` must be this gateway.',
        security,
        params: params('id'),
        body: body({ document: anyObject, note: text(500) }, ['document']),
        response: { 201: issuedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { document, note } = req.body;
      return reply.code(201).send(issued(await services.configs.issue(req.params.id, { kind: 'document', document }, ctxOf(req), note === undefined ? {} : { note })));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/configs',
    { onRequest: viewer, schema: { tags, operationId: 'listConfigVersions', summary: 'List configuration versions, newest first, with their state', security, params: params('id'), response: { 200: object({ versions: { type: 'array', items: summarySchema } }), ...errorResponses } } },
    async (req) => ({ versions: (await services.configs.list(req.params.id)).map(summary) }),
  );

  app.get<{ Params: { id: string; version: string } }>(
    '/v1/gateways/:id/configs/:version',
    { onRequest: viewer, schema: { tags, operationId: 'getConfigVersion', summary: 'One configuration version with its document and signed form', security, params: versionParams, response: { 200: fullSchema, ...errorResponses } } },
    async (req) => full(await services.configs.get(req.params.id, parseCount(req.params.version, 'params.version', 1, Number.MAX_SAFE_INTEGER))),
  );

  app.post<{ Params: { id: string; version: string }; Body: { note?: string } | undefined }>(
    '/v1/gateways/:id/configs/:version/rollback',
    {
      onRequest: technician,
      preValidation: emptyBodyIsObject,
      schema: { tags, operationId: 'rollbackConfig', summary: "Re-issue an earlier version's document as a new, higher version (technician)", security, params: versionParams, body: noteBody, response: { 201: issuedSchema, ...errorResponses } },
    },
    async (req, reply) => {
      const fromVersion = parseCount(req.params.version, 'params.version', 1, Number.MAX_SAFE_INTEGER);
      const note = req.body?.note;
      return reply.code(201).send(issued(await services.configs.issue(req.params.id, { kind: 'rollback', fromVersion }, ctxOf(req), note === undefined ? {} : { note })));
    },
  );
}
