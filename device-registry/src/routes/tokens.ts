import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { body, errorResponses, noContent, object, params, text, ts, tsOrNull } from '../http/schemas.js';
import type { Role } from '../repos/tokens-repo.js';
import { ROLES } from '../service/token-service.js';
import type { RouteOptions } from './route-options.js';

const tokenSchema = object({ id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: [...ROLES] }, createdAt: ts, createdBy: { type: 'string' }, revokedAt: tsOrNull });

export async function tokenRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['tokens'];
  const admin = requireRole(services, 'admin');
  const security = BEARER_SECURITY;

  app.get('/v1/tokens', { onRequest: admin, schema: { tags, operationId: 'listTokens', summary: 'List API tokens (admin)', security, response: { 200: object({ tokens: { type: 'array', items: tokenSchema } }), ...errorResponses } } }, async () => ({
    tokens: await services.tokens.list(),
  }));

  app.post<{ Body: { name: string; role: Role } }>(
    '/v1/tokens',
    {
      onRequest: admin,
      schema: {
        tags,
        operationId: 'createToken', summary: 'Create an API token; the token is shown only in this answer (admin)',
        security,
        body: body({ name: text(100), role: { type: 'string', enum: [...ROLES] } }, ['name', 'role']),
        response: { 201: { ...tokenSchema, required: [...tokenSchema.required, 'token'], properties: { ...tokenSchema.properties, token: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { token, info } = await services.tokens.create(req.body, ctxOf(req));
      return reply.code(201).send({ ...info, token });
    },
  );

  app.delete<{ Params: { tokenId: string } }>(
    '/v1/tokens/:tokenId',
    { onRequest: admin, schema: { tags, operationId: 'revokeToken', summary: 'Revoke an API token (admin)', security, params: params('tokenId'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await services.tokens.revoke(req.params.tokenId, ctxOf(req));
      return reply.code(204).send();
    },
  );
}
