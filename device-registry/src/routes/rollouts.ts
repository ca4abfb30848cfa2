import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { body, errorResponses, int, object, params, strOrNull, text, ts } from '../http/schemas.js';
import type { RolloutInput } from '../service/rollout-service.js';
import type { RouteOptions } from './route-options.js';

const rolloutSchema = object({
  id: { type: 'string' },
  target: object({ kind: { type: 'string', enum: ['site', 'tag'] }, value: { type: 'string' } }),
  canarySize: { type: 'integer' },
  state: { type: 'string', enum: ['canary', 'rolling', 'halted', 'completed'] },
  reason: strOrNull,
  note: strOrNull,
  createdBy: { type: 'string' },
  createdAt: ts,
  updatedAt: ts,
  progress: object({ total: { type: 'integer' }, applied: { type: 'integer' }, committed: { type: 'integer' }, failed: { type: 'integer' }, pending: { type: 'integer' } }),
  gateways: {
    type: 'array',
    items: object({ gatewayId: { type: 'string' }, phase: { type: 'string', enum: ['canary', 'rest'] }, version: { type: ['integer', 'null'] }, state: { type: 'string' }, reason: strOrNull }),
  },
});

export async function rolloutRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['rollouts'];
  const security = BEARER_SECURITY;

  app.post<{ Body: RolloutInput }>(
    '/v1/rollouts',
    {
      onRequest: requireRole(services, 'technician'),
      schema: {
        tags,
        operationId: 'startRollout', summary: "Roll each gateway's composed configuration out to a site or tag, canaries first (technician)",
        description: 'Give exactly one of site and tag. The first `canary` gateways (by id) get it first; if one of them rejects or rolls back, the rollout halts; once all have committed, the rest get it.',
        security,
        body: body({ site: text(64), tag: text(64), canary: { ...int(0, 10_000), description: 'Canary gateways (0: all at once)' }, note: text(500) }, ['canary']),
        response: { 201: rolloutSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await services.rollouts.create(req.body, ctxOf(req))),
  );

  app.get('/v1/rollouts', { onRequest: requireRole(services, 'viewer'), schema: { tags, operationId: 'listRollouts', summary: 'List rollouts with progress, newest first', security, response: { 200: object({ rollouts: { type: 'array', items: rolloutSchema } }), ...errorResponses } } }, async () => ({
    rollouts: await services.rollouts.list(),
  }));

  app.get<{ Params: { rolloutId: string } }>(
    '/v1/rollouts/:rolloutId',
    { onRequest: requireRole(services, 'viewer'), schema: { tags, operationId: 'getRollout', summary: 'A rollout with progress per gateway', security, params: params('rolloutId'), response: { 200: rolloutSchema, ...errorResponses } } },
    async (req) => services.rollouts.get(req.params.rolloutId),
  );
}
