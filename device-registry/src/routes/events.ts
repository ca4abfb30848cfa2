import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, requireRole } from '../http/auth.js';
import { digits, errorResponses, object, params, parseCount, query, text, ts } from '../http/schemas.js';
import type { EventSeverity } from '@cityedge/contract';
import { NEXT_SCHEMA, nextCursor, parseCursor } from './paging.js';
import type { RouteOptions } from './route-options.js';

export const SEVERITIES = ['info', 'warning', 'alarm', 'critical'] as const;

const eventSchema = object({
  gatewayId: { type: 'string' },
  seq: { type: 'integer', description: 'The message it came in (one counter per gateway across telemetry and events)' },
  idx: { type: 'integer', description: 'Its position in the message' },
  type: { type: 'string' },
  ts: { ...ts, description: 'Gateway time of the event (ms since the Unix epoch)' },
  severity: { type: 'string', enum: SEVERITIES },
  dev: { type: ['string', 'null'] },
  message: { type: 'string' },
  data: { type: ['object', 'null'], additionalProperties: true },
  alarm: { type: ['object', 'null'], properties: { key: { type: 'string' }, state: { type: 'string' }, level: { type: 'string' } }, description: 'An alarm transition the event carried explicitly' },
  receivedAt: ts,
});

const CURSOR = /^(\d{1,15})\.(\d{1,6})$/;

interface EventsQuery {
  type?: string;
  severity?: EventSeverity;
  since?: string;
  until?: string;
  limit?: string;
  before?: string;
}

export async function eventRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: EventsQuery }>(
    '/v1/gateways/:id/events',
    {
      onRequest: requireRole(services, 'viewer'),
      schema: {
        tags: ['events'],
        operationId: 'listEvents',
        summary: "The events a gateway sent, newest first (by seq); page back with before=<next>",
        description: 'type is exact (device.offline) or a prefix ending in .* (command.*); since and until bound the gateway time (ms, until exclusive).',
        security: BEARER_SECURITY,
        params: params('id'),
        querystring: query({ type: text(64, { pattern: '^[a-z][a-z0-9_.-]{0,62}(\\.\\*)?$' }), severity: { type: 'string', enum: SEVERITIES }, since: digits(15), until: digits(15), limit: digits(4), before: text(40) }),
        response: { 200: object({ gatewayId: { type: 'string' }, events: { type: 'array', items: eventSchema }, next: NEXT_SCHEMA }), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = parseCount(q.limit, 'querystring.limit', 1, 1000, 100);
      const m = parseCursor(q.before, CURSOR);
      const before = m && { seq: Number(m[1]), idx: Number(m[2]) };
      const events = await services.events.list({
        gatewayId: req.params.id,
        limit,
        ...(q.type !== undefined && { type: q.type }),
        ...(q.severity !== undefined && { severity: q.severity }),
        ...(q.since !== undefined && { since: parseCount(q.since, 'querystring.since', 0, Number.MAX_SAFE_INTEGER) }),
        ...(q.until !== undefined && { until: parseCount(q.until, 'querystring.until', 0, Number.MAX_SAFE_INTEGER) }),
        ...(before && { before }),
      });
      return { gatewayId: req.params.id, events, next: nextCursor(events, limit, (e) => `${e.seq}.${e.idx}`) };
    },
  );
}
