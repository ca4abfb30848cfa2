import type { FastifyInstance } from 'fastify';
import { RulesConfig } from '@cityedge/contract';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { anyObject, errorResponses, noContent, object, params, ts } from '../http/schemas.js';
import type { RulesRecord } from '../repos/rules-repo.js';
import { contractBody } from './inventory-bodies.js';
import type { RouteOptions } from './route-options.js';

const rulesSchema = object({
  gatewayId: { type: 'string' },
  rules: { ...anyObject, description: 'The `rules` section of the gateway configuration, as sent (the agent fills in defaults)' },
  createdAt: ts,
  updatedAt: ts,
  updatedBy: { type: 'string' },
});

const view = (r: RulesRecord) => r;

/**
 * The body as the OpenAPI document shows it: the four lists. Each entry is checked by the
 * contract's zod schema (preValidation, every problem with its path); the JSON Schema generated
 * from it is 10 kB that Fastify would compile for every app instance to check nothing more.
 */
const rulesBody = {
  type: 'object',
  additionalProperties: false,
  description: 'The `rules` section of the gateway configuration (contract/src/rules-config.ts; README "Rules at the edge")',
  properties: Object.fromEntries(['flood', 'aqi', 'lighting', 'derived'].map((k) => [k, { type: 'array', items: anyObject }])),
};

/**
 * A gateway's rules record: flood stations, air-quality stations, lighting groups and derived
 * readings, checked with the agent's own schema and against the gateway's devices, and composed
 * into its next configuration version (`POST /v1/gateways/:id/configs`).
 */
export async function rulesRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['rules'];
  const viewer = requireRole(services, 'viewer');
  const technician = requireRole(services, 'technician');
  const security = BEARER_SECURITY;

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/rules',
    { onRequest: viewer, schema: { tags, operationId: 'getRules', summary: "Get a gateway's rules", security, params: params('id'), response: { 200: rulesSchema, ...errorResponses } } },
    async (req) => view(await services.rules.get(req.params.id)),
  );

  app.put<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/v1/gateways/:id/rules',
    {
      onRequest: technician,
      preValidation: contractBody(RulesConfig),
      schema: {
        tags,
        operationId: 'putRules',
        summary: "Create or replace a gateway's rules; they go out with its next configuration version (technician)",
        security,
        params: params('id'),
        body: rulesBody,
        response: { 200: rulesSchema, 201: rulesSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { record, created } = await services.rules.put(req.params.id, req.body, ctxOf(req));
      return reply.code(created ? 201 : 200).send(view(record));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/gateways/:id/rules',
    { onRequest: technician, schema: { tags, operationId: 'deleteRules', summary: "Remove a gateway's rules; its next configuration version has none (technician)", security, params: params('id'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await services.rules.clear(req.params.id, ctxOf(req));
      return reply.code(204).send();
    },
  );
}
