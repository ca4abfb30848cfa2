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
  app.get<{ Params: { id: string }; Querystring: { device: string; point?: string; limit?: string } }>(
    '/v1/gateways/:id/readings',
    {
      onRequest: requireRole(services, 'viewer'),
      schema: {
        tags: ['telemetry'],
        operationId: 'listReadings', summary: "A device's most recent readings as ingested from the gateway's telemetry, newest first",
        security: BEARER_SECURITY,
        params: params('id'),
        querystring: { ...query({ device: text(64), point: text(64), limit: digits(4) }), required: ['device'] },
        response: { 200: object({ gatewayId: { type: 'string' }, device: { type: 'string' }, readings: { type: 'array', items: readingSchema } }), ...errorResponses },
      },
    },
    async (req) => {
      const { id } = req.params;
      const limit = parseCount(req.query.limit, 'querystring.limit', 1, 1000, 100);
      if (!(await services.store.gateways.get(id))) throw notFound('gateway', id);
      return { gatewayId: id, device: req.query.device, readings: await services.store.telemetry.recentReadings(id, req.query.device, req.query.point, limit) };
    },
  );
}
