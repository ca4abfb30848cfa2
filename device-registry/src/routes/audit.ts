import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, requireRole } from '../http/auth.js';
import { digits, errorResponses, object, parseCount, query, strOrNull, text, ts } from '../http/schemas.js';
import type { RouteOptions } from './route-options.js';

const entrySchema = object({
  id: { type: 'integer' },
  ts,
  actor: object({ id: { type: 'string', description: 'token:<id>, user:<username>, gateway:<id>, enrollment or system' }, name: strOrNull }),
  action: { type: 'string' },
  target: object({ type: { type: 'string' }, id: strOrNull }),
  details: { type: ['object', 'null'], additionalProperties: true },
  sourceIp: strOrNull,
});

interface AuditQuery {
  limit?: string;
  before?: string;
  targetType?: string;
  targetId?: string;
  action?: string;
}

export async function auditRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  app.get<{ Querystring: AuditQuery }>(
    '/v1/audit',
    {
      onRequest: requireRole(services, 'viewer'),
      schema: {
        tags: ['audit'],
        operationId: 'listAudit', summary: 'The audit log, newest first; page back with before=<id of the last entry>',
        security: BEARER_SECURITY,
        querystring: query({ limit: digits(4), before: digits(15), targetType: text(32), targetId: text(200), action: text(64) }),
        response: { 200: object({ entries: { type: 'array', items: entrySchema } }), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const entries = await services.audit.list({
        limit: parseCount(q.limit, 'querystring.limit', 1, 1000, 100),
        ...(q.before !== undefined && { before: parseCount(q.before, 'querystring.before', 1, Number.MAX_SAFE_INTEGER) }),
        ...(q.targetType !== undefined && { targetType: q.targetType }),
        ...(q.targetId !== undefined && { targetId: q.targetId }),
        ...(q.action !== undefined && { action: q.action }),
      });
      return { entries };
    },
  );
}
