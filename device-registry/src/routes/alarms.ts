import type { FastifyInstance } from 'fastify';
import type { EventSeverity } from '@cityedge/contract';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { body, digits, emptyBodyIsObject, errorResponses, object, params, parseCount, query, slug, strOrNull, text, ts, tsOrNull } from '../http/schemas.js';
import { ALARM_LIFECYCLE, type AlarmStateFilter } from '../repos/alarms-repo.js';
import { SEVERITIES } from './events.js';
import { NEXT_SCHEMA, nextCursor } from './paging.js';
import type { RouteOptions } from './route-options.js';

const alarmProperties = {
  id: { type: 'integer' },
  gatewayId: { type: 'string' },
  siteId: strOrNull,
  key: { type: 'string', description: 'The condition, e.g. device.offline/river-radar' },
  dev: strOrNull,
  state: { type: 'string', enum: ALARM_LIFECYCLE, description: 'raised (active, unacknowledged), acknowledged (active), cleared (over, not yet acknowledged), closed' },
  severity: { type: 'string', enum: SEVERITIES },
  level: strOrNull,
  message: { type: 'string' },
  raisedAt: { ...ts, description: 'Gateway time of the raise' },
  raisedSeq: { type: 'integer' },
  reraiseCount: { type: 'integer', description: 'Raises after the first while it stayed active' },
  clearedAt: tsOrNull,
  clearedSeq: { type: ['integer', 'null'] },
  acknowledgedAt: tsOrNull,
  acknowledgedBy: strOrNull,
  ackNote: strOrNull,
  updatedAt: ts,
};
const alarmSchema = object(alarmProperties);
const historySchema = object({
  ts,
  action: { type: 'string', enum: ['raised', 're-raised', 'cleared', 'acknowledged'] },
  actor: { type: 'string', description: 'gateway:<id>, or the account or token name' },
  seq: { type: ['integer', 'null'] },
  severity: strOrNull,
  level: strOrNull,
  message: strOrNull,
  note: strOrNull,
});
const alarmViewSchema = object({ ...alarmProperties, history: { type: 'array', items: historySchema } });
const alarmIdParams = { ...params('alarmId'), properties: { alarmId: digits(15) } };

interface AlarmsQuery {
  state?: AlarmStateFilter;
  site?: string;
  gateway?: string;
  severity?: EventSeverity;
  limit?: string;
  before?: string;
}

export async function alarmRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['alarms'];
  const security = BEARER_SECURITY;
  const viewer = requireRole(services, 'viewer');

  app.get<{ Querystring: AlarmsQuery }>(
    '/v1/alarms',
    {
      onRequest: viewer,
      schema: {
        tags,
        operationId: 'listAlarms',
        summary: 'Alarms, newest first: open ones (raised, acknowledged, cleared) by default; page back with before=<next>',
        security,
        querystring: query({ state: { type: 'string', enum: ['open', 'all', ...ALARM_LIFECYCLE] }, site: slug, gateway: text(64), severity: { type: 'string', enum: SEVERITIES }, limit: digits(4), before: digits(15) }),
        response: { 200: object({ alarms: { type: 'array', items: alarmSchema }, next: NEXT_SCHEMA }), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = parseCount(q.limit, 'querystring.limit', 1, 1000, 100);
      const alarms = await services.alarms.list({
        state: q.state ?? 'open',
        limit,
        ...(q.site !== undefined && { siteId: q.site }),
        ...(q.gateway !== undefined && { gatewayId: q.gateway }),
        ...(q.severity !== undefined && { severity: q.severity }),
        ...(q.before !== undefined && { before: parseCount(q.before, 'querystring.before', 1, Number.MAX_SAFE_INTEGER) }),
      });
      return { alarms, next: nextCursor(alarms, limit, (a) => String(a.id)) };
    },
  );

  app.get<{ Params: { alarmId: string } }>(
    '/v1/alarms/:alarmId',
    { onRequest: viewer, schema: { tags, operationId: 'getAlarm', summary: 'One alarm with its history (raises, clears, acknowledgement)', security, params: alarmIdParams, response: { 200: alarmViewSchema, ...errorResponses } } },
    async (req) => services.alarms.get(parseCount(req.params.alarmId, 'params.alarmId', 1, Number.MAX_SAFE_INTEGER)),
  );

  app.post<{ Params: { alarmId: string }; Body: { note?: string } | undefined }>(
    '/v1/alarms/:alarmId/ack',
    {
      onRequest: requireRole(services, 'technician'),
      preValidation: emptyBodyIsObject,
      schema: {
        tags,
        operationId: 'acknowledgeAlarm',
        summary: 'Acknowledge an alarm (technician): it stays active until the gateway clears it; a cleared one is closed',
        description: '409 when it was already acknowledged (the message names by whom).',
        security,
        params: alarmIdParams,
        body: body({ note: text(500) }),
        response: { 200: alarmViewSchema, ...errorResponses },
      },
    },
    async (req) => services.alarms.acknowledge(parseCount(req.params.alarmId, 'params.alarmId', 1, Number.MAX_SAFE_INTEGER), req.body?.note, ctxOf(req)),
  );
}
