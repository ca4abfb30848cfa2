import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { body, errorResponses, noContent, object, params, slug, text, ts } from '../http/schemas.js';
import type { SiteInput } from '../service/site-service.js';
import type { RouteOptions } from './route-options.js';

const location = { type: ['object', 'null'], additionalProperties: false, required: ['lat', 'lon'], properties: { lat: { type: 'number', minimum: -90, maximum: 90 }, lon: { type: 'number', minimum: -180, maximum: 180 } } };
const siteSchema = object({ id: { type: 'string' }, name: { type: 'string' }, location: { type: ['object', 'null'], properties: { lat: { type: 'number' }, lon: { type: 'number' } } }, timeZone: { type: 'string' }, createdAt: ts, updatedAt: ts });
const fields = { name: text(200), location, timeZone: text(64, { description: 'IANA time zone, e.g. Europe/Madrid' }) };

export async function siteRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['sites'];
  const viewer = requireRole(services, 'viewer');
  const technician = requireRole(services, 'technician');
  const admin = requireRole(services, 'admin');

  app.get('/v1/sites', { onRequest: viewer, schema: { tags, operationId: 'listSites', summary: 'List sites', security: BEARER_SECURITY, response: { 200: object({ sites: { type: 'array', items: siteSchema } }), ...errorResponses } } }, async () => ({
    sites: await services.sites.list(),
  }));

  app.post<{ Body: SiteInput }>(
    '/v1/sites',
    { onRequest: technician, schema: { tags, operationId: 'createSite', summary: 'Create a site (technician)', security: BEARER_SECURITY, body: body({ id: slug, ...fields }, ['id', 'name', 'timeZone']), response: { 201: siteSchema, ...errorResponses } } },
    async (req, reply) => reply.code(201).send(await services.sites.create(req.body, ctxOf(req))),
  );

  app.get<{ Params: { siteId: string } }>(
    '/v1/sites/:siteId',
    { onRequest: viewer, schema: { tags, operationId: 'getSite', summary: 'Get a site', security: BEARER_SECURITY, params: params('siteId'), response: { 200: siteSchema, ...errorResponses } } },
    async (req) => services.sites.get(req.params.siteId),
  );

  app.patch<{ Params: { siteId: string }; Body: Partial<Omit<SiteInput, 'id'>> }>(
    '/v1/sites/:siteId',
    { onRequest: technician, schema: { tags, operationId: 'updateSite', summary: 'Change a site (technician)', security: BEARER_SECURITY, params: params('siteId'), body: body(fields), response: { 200: siteSchema, ...errorResponses } } },
    async (req) => services.sites.update(req.params.siteId, req.body, ctxOf(req)),
  );

  app.delete<{ Params: { siteId: string } }>(
    '/v1/sites/:siteId',
    { onRequest: admin, schema: { tags, operationId: 'deleteSite', summary: 'Delete a site without gateways (admin)', security: BEARER_SECURITY, params: params('siteId'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await services.sites.delete(req.params.siteId, ctxOf(req));
      return reply.code(204).send();
    },
  );
}
