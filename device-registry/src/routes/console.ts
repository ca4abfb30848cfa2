import type { FastifyInstance } from 'fastify';
import { invalid, notFound } from '../errors.js';
import { BEARER_SECURITY, requireRole } from '../http/auth.js';
import { digits, errorResponses, object, params, parseCount, query, text, ts } from '../http/schemas.js';
import { gatewaySchema } from './gateways.js';
import type { RouteOptions } from './route-options.js';

const openAlarmsSchema = object({
  open: { type: 'integer', description: 'Alarms not closed' },
  unacknowledged: { type: 'integer', description: 'Open alarms nobody acknowledged (raised, or cleared and not acknowledged)' },
  highestSeverity: { type: ['string', 'null'], enum: ['info', 'warning', 'alarm', 'critical', null] },
});
const fleetGatewaySchema = { ...gatewaySchema, required: [...gatewaySchema.required, 'alarms'], properties: { ...gatewaySchema.properties, alarms: openAlarmsSchema } };
const bucketSchema = object({ ts: { ...ts, description: 'Start of the bucket' }, min: { type: 'number' }, avg: { type: 'number' }, max: { type: 'number' }, count: { type: 'integer' } });

/** Most buckets one series answer may have. */
export const MAX_BUCKETS = 5000;
const DEFAULT_BUCKETS = 500;
const MIN_STEP_MS = 1000;
const MAX_SPAN_MS = 400 * 24 * 3600_000;

/** What the console's pages need beyond the resource API: the fleet at a glance and charts over hours and days. */
export async function consoleRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const viewer = requireRole(services, 'viewer');

  app.get<{ Querystring: { site?: string; tag?: string } }>(
    '/v1/fleet',
    {
      onRequest: viewer,
      schema: {
        tags: ['gateways'],
        operationId: 'getFleet',
        summary: 'Every gateway with its status (online state, last seen, config version, backlog, failing devices) and open alarms, with totals',
        security: BEARER_SECURITY,
        querystring: query({ site: text(64), tag: text(64) }),
        response: {
          200: object({
            gateways: { type: 'array', items: fleetGatewaySchema },
            totals: object({ gateways: { type: 'integer' }, online: { type: 'integer' }, offline: { type: 'integer' }, unknown: { type: 'integer' }, openAlarms: { type: 'integer' }, unacknowledgedAlarms: { type: 'integer' } }),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const [gateways, alarms] = await Promise.all([
        services.gateways.list({ ...(req.query.site !== undefined && { siteId: req.query.site }), ...(req.query.tag !== undefined && { tag: req.query.tag }) }),
        services.store.console.openAlarmsByGateway(),
      ]);
      const rows = gateways.map((g) => ({ ...g, alarms: alarms.get(g.id) ?? { open: 0, unacknowledged: 0, highestSeverity: null } }));
      const count = (state: string) => rows.filter((g) => g.status.state === state).length;
      return {
        gateways: rows,
        totals: {
          gateways: rows.length,
          online: count('online'),
          offline: count('offline'),
          unknown: count('unknown'),
          openAlarms: rows.reduce((n, g) => n + g.alarms.open, 0),
          unacknowledgedAlarms: rows.reduce((n, g) => n + g.alarms.unacknowledged, 0),
        },
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { device: string; point: string; from?: string; to?: string; step?: string } }>(
    '/v1/gateways/:id/readings/series',
    {
      onRequest: viewer,
      schema: {
        tags: ['telemetry'],
        operationId: 'getReadingSeries',
        summary: "A point's readings over hours or days for charts: min, avg and max per time bucket",
        description: `Good readings only; booleans count as 0/1, text values are left out; empty buckets are left out. Default: the last 24 h in ${DEFAULT_BUCKETS} buckets. step at least ${MIN_STEP_MS} ms and at most ${MAX_BUCKETS} buckets.`,
        security: BEARER_SECURITY,
        params: params('id'),
        querystring: {
          ...query({
            device: text(64),
            point: text(64),
            from: { ...digits(15), description: 'ms since the epoch (inclusive); default to - 24 h' },
            to: { ...digits(15), description: 'ms since the epoch (exclusive); default now' },
            step: { ...digits(12), description: `Bucket width in ms; default (to - from) / ${DEFAULT_BUCKETS}, at least ${MIN_STEP_MS}` },
          }),
          required: ['device', 'point'],
        },
        response: {
          200: object({ gatewayId: { type: 'string' }, device: { type: 'string' }, point: { type: 'string' }, unit: { type: ['string', 'null'] }, from: ts, to: ts, step: { type: 'integer' }, buckets: { type: 'array', items: bucketSchema } }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { id } = req.params;
      const { device, point } = req.query;
      const to = parseCount(req.query.to, 'querystring.to', 0, Number.MAX_SAFE_INTEGER, services.clock.now());
      const from = parseCount(req.query.from, 'querystring.from', 0, Number.MAX_SAFE_INTEGER, to - 24 * 3600_000);
      if (from >= to) throw invalid('querystring.from', 'must be before to');
      if (to - from > MAX_SPAN_MS) throw invalid('querystring.from', 'the span from..to may be at most 400 days');
      const step = parseCount(req.query.step, 'querystring.step', MIN_STEP_MS, MAX_SPAN_MS, Math.max(MIN_STEP_MS, Math.ceil((to - from) / DEFAULT_BUCKETS)));
      if (Math.ceil((to - from) / step) > MAX_BUCKETS) throw invalid('querystring.step', `gives more than ${MAX_BUCKETS} buckets for from..to; use a step of at least ${Math.ceil((to - from) / MAX_BUCKETS)}`);
      if (!(await services.store.gateways.get(id))) throw notFound('gateway', id);
      const [buckets, latest] = await Promise.all([services.store.console.series({ gatewayId: id, deviceId: device, point, from, to, step }), services.store.telemetry.recentReadings(id, device, point, 1)]);
      return { gatewayId: id, device, point, unit: latest[0]?.u ?? null, from, to, step, buckets };
    },
  );
}
