import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors.js';
import { BEARER_SECURITY, requireRole } from '../http/auth.js';
import { digits, errorResponses, object, params, parseCount, query, text, ts } from '../http/schemas.js';
import type { RouteOptions } from './route-options.js';

const readingSchema = {
  type: 'object',
  required: ['seq', 'dev', 'pt', 'ts', 'v', 'q'],
  properties: { seq: { type: 'integer' }, dev: { type: 'string' }, pt: { type: 'string' }, ts, v: { type: ['number', 'boolean', 'string', 'null'] }, q: { type: 'string', enum: ['good', 'bad'] }, u: { type: 'string' }, err: { type: 'string' } },
};

export async function readingRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { device: string; point?: string; limit?: string; since?: string; until?: string } }>(
    '/v1/gateways/:id/readings',
    {
      onRequest: requireRole(services, 'viewer'),
      schema: {
        tags: ['telemetry'],
        operationId: 'listReadings', summary: "A device's most recent readings as ingested from the gateway's telemetry, newest first",
        description: 'since and until bound the reading time (ms, until exclusive); on PostgreSQL only the partitions of those days are read.',
        security: BEARER_SECURITY,
        params: params('id'),
        querystring: { ...query({ device: text(64), point: text(64), limit: digits(4), since: digits(15), until: digits(15) }), required: ['device'] },
        response: { 200: object({ gatewayId: { type: 'string' }, device: { type: 'string' }, readings: { type: 'array', items: readingSchema } }), ...errorResponses },
      },
    },
    async (req) => {
      const { id } = req.params;
      const limit = parseCount(req.query.limit, 'querystring.limit', 1, 1000, 100);
      const q = req.query;
      const window = {
        ...(q.since !== undefined && { since: parseCount(q.since, 'querystring.since', 0, Number.MAX_SAFE_INTEGER) }),
        ...(q.until !== undefined && { until: parseCount(q.until, 'querystring.until', 0, Number.MAX_SAFE_INTEGER) }),
      };
      if (!(await services.store.gateways.get(id))) throw notFound('gateway', id);
      return { gatewayId: id, device: q.device, readings: await services.store.telemetry.recentReadings(id, q.device, q.point, limit, window) };
    },
  );
}
