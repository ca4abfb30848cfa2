import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { body, emptyBodyIsObject, errorResponses, int, intOrNull, noContent, object, params, query, strOrNull, text, ts, tsOrNull } from '../http/schemas.js';
import { MAX_CODE_TTL_MS } from '../service/enrollment-service.js';
import type { RouteOptions } from './route-options.js';

const str = { type: 'string' } as const;
/** Line and device problems the gateway last reported (contract RuntimeProblems). */
const problemsSchema = {
  type: ['object', 'null'],
  description: 'What the gateway last reported wrong on the lines and devices of the configuration it runs (with its config report; refreshed when it changes)',
  required: ['version', 'at', 'lines', 'devices'],
  properties: {
    version: { type: 'integer', description: 'The configuration version running when reported' },
    at: ts,
    lines: { type: 'array', items: object({ line: str, code: str, cause: str, message: str, since: ts }, ['line', 'code', 'message', 'since']) },
    devices: { type: 'array', items: object({ dev: str, line: str, state: { type: 'string', enum: ['never-answered', 'quarantined', 'failing'] }, code: str, message: str, since: ts }, ['dev', 'line', 'state', 'message', 'since']) },
    omitted: object({ lines: { type: 'integer' }, devices: { type: 'integer' } }),
  },
};

export const gatewaySchema = object({
  id: { type: 'string' },
  siteId: strOrNull,
  name: strOrNull,
  tags: { type: 'array', items: { type: 'string' } },
  createdAt: ts,
  updatedAt: ts,
  enrolled: { type: 'boolean' },
  enrolledAt: tsOrNull,
  hostname: strOrNull,
  status: object({
    state: { type: 'string', enum: ['unknown', 'online', 'offline'] },
    since: tsOrNull,
    lastSeen: tsOrNull,
    agentVersion: strOrNull,
    configVersionRunning: intOrNull,
    backlog: intOrNull,
    devicesFailing: { ...intOrNull, description: 'Devices that fail, never answered or are quarantined' },
    problems: problemsSchema,
  }),
  config: {
    type: ['object', 'null'],
    description: 'The newest configuration version issued and what the gateway said about it',
    properties: { latestVersion: { type: 'integer' }, state: { type: 'string' }, reason: strOrNull, stateAt: ts },
  },
});

const enrollmentSchema = object({ code: { type: 'string', description: 'Single use; shown only here' }, expiresAt: ts });
const ttl = { ...int(60, MAX_CODE_TTL_MS / 1000), description: 'Code lifetime in seconds (default 24 h)' };
const tagList = { type: 'array', maxItems: 32, uniqueItems: true, items: text(64, { pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' }) };

interface CreateBody {
  id: string;
  siteId?: string | null;
  name?: string | null;
  tags?: string[];
  codeTtlSeconds?: number;
}

export async function gatewayRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['gateways'];
  const viewer = requireRole(services, 'viewer');
  const technician = requireRole(services, 'technician');
  const admin = requireRole(services, 'admin');

  app.get<{ Querystring: { site?: string; tag?: string } }>(
    '/v1/gateways',
    {
      onRequest: viewer,
      schema: { tags, operationId: 'listGateways', summary: 'List gateways with their status', security: BEARER_SECURITY, querystring: query({ site: text(64), tag: text(64) }), response: { 200: object({ gateways: { type: 'array', items: gatewaySchema } }), ...errorResponses } },
    },
    async (req) => ({ gateways: await services.gateways.list({ ...(req.query.site !== undefined && { siteId: req.query.site }), ...(req.query.tag !== undefined && { tag: req.query.tag }) }) }),
  );

  app.post<{ Body: CreateBody }>(
    '/v1/gateways',
    {
      onRequest: technician,
      schema: {
        tags,
        operationId: 'createGateway', summary: 'Create a gateway; answers its first enrollment code (technician)',
        security: BEARER_SECURITY,
        body: body({ id: text(63, { description: 'Lowercase letters, digits, "-" and "_"; also its MQTT username' }), siteId: { type: ['string', 'null'], maxLength: 64 }, name: { type: ['string', 'null'], maxLength: 200 }, tags: tagList, codeTtlSeconds: ttl }, ['id']),
        response: { 201: object({ gateway: gatewaySchema, enrollment: enrollmentSchema }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { codeTtlSeconds, ...input } = req.body;
      const r = await services.gateways.create({ ...input, ...(codeTtlSeconds !== undefined && { codeTtlMs: codeTtlSeconds * 1000 }) }, ctxOf(req));
      return reply.code(201).send(r);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id',
    { onRequest: viewer, schema: { tags, operationId: 'getGateway', summary: 'Get a gateway with its status', security: BEARER_SECURITY, params: params('id'), response: { 200: gatewaySchema, ...errorResponses } } },
    async (req) => services.gateways.get(req.params.id),
  );

  app.patch<{ Params: { id: string }; Body: { siteId?: string | null; name?: string | null; tags?: string[] } }>(
    '/v1/gateways/:id',
    {
      onRequest: technician,
      schema: { tags, operationId: 'updateGateway', summary: 'Change a gateway (technician)', security: BEARER_SECURITY, params: params('id'), body: body({ siteId: { type: ['string', 'null'], maxLength: 64 }, name: { type: ['string', 'null'], maxLength: 200 }, tags: tagList }), response: { 200: gatewaySchema, ...errorResponses } },
    },
    async (req) => services.gateways.update(req.params.id, req.body, ctxOf(req)),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/gateways/:id',
    { onRequest: admin, schema: { tags, operationId: 'deleteGateway', summary: 'Delete a gateway with its devices, lines and cameras (admin)', security: BEARER_SECURITY, params: params('id'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await services.gateways.delete(req.params.id, ctxOf(req));
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: { ttlSeconds?: number } | undefined }>(
    '/v1/gateways/:id/enrollment-codes',
    {
      onRequest: technician,
      preValidation: emptyBodyIsObject,
      schema: { tags, operationId: 'issueEnrollmentCode', summary: 'Issue a new enrollment code, replacing unused ones (technician)', security: BEARER_SECURITY, params: params('id'), body: body({ ttlSeconds: ttl }), response: { 201: enrollmentSchema, ...errorResponses } },
    },
    async (req, reply) => {
      const ttlSeconds = req.body?.ttlSeconds;
      return reply.code(201).send(await services.enrollment.issueCode(req.params.id, ttlSeconds === undefined ? undefined : ttlSeconds * 1000, ctxOf(req)));
    },
  );
}
