import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, requireRole } from '../http/auth.js';
import type { RegistryMetrics } from '../http/metrics.js';
import { errorResponses } from '../http/schemas.js';
import type { RouteOptions } from './route-options.js';

export interface MetricsRouteOptions extends RouteOptions {
  metrics: RegistryMetrics;
}

/**
 * Prometheus text. A viewer token is required: the counts name routes and gateway states, not
 * secrets, but the registry faces gateways on other networks, so nothing is readable without
 * credentials. Prometheus sends the token with `authorization: { credentials_file: ... }`.
 */
export async function metricsRoutes(app: FastifyInstance, { services, metrics }: MetricsRouteOptions): Promise<void> {
  app.get(
    '/metrics',
    {
      onRequest: requireRole(services, 'viewer'),
      schema: {
        tags: ['health'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics: HTTP requests, enrollments, gateways by state, ingest, broker refusals, process (viewer)',
        security: BEARER_SECURITY,
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errorResponses },
      },
    },
    async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()),
  );
}
