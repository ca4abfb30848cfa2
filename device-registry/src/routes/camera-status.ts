import type { FastifyInstance } from 'fastify';
import { CAMERA_STATES } from '@cityedge/contract';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { body, errorResponses, int, intOrNull, object, params, query, slug, strOrNull, text, ts, tsOrNull } from '../http/schemas.js';
import type { DiscoveryState } from '../repos/camera-status-repo.js';
import type { AcceptDiscoveredInput } from '../service/camera-status-service.js';
import { cameraSchema } from './cameras.js';
import type { RouteOptions } from './route-options.js';

const STATUS_STATES = [...CAMERA_STATES, 'unknown'];
const DISCOVERY_STATES: DiscoveryState[] = ['discovered', 'accepted', 'dismissed'];

const statusProperties = {
  gatewayId: { type: 'string' },
  cameraId: { type: 'string' },
  registered: { type: 'boolean', description: 'A camera record exists in the registry for this id' },
  name: strOrNull,
  state: { type: 'string', enum: STATUS_STATES },
  reasons: { type: 'array', items: { type: 'string' }, description: 'CameraReason values (contract camera-payloads.ts)' },
  code: { ...strOrNull, description: 'Error code behind the state, e.g. EDGE_CAMERA_TIMEOUT' },
  since: tsOrNull,
  checkedAt: tsOrNull,
  clockSkewMs: intOrNull,
  codec: strOrNull,
  width: intOrNull,
  height: intOrNull,
  inventory: { type: ['object', 'null'], additionalProperties: true, description: 'Manufacturer, model, firmware, serial, profiles and URIs (never with credentials)' },
  inventoryAt: tsOrNull,
  thumbnail: { type: ['object', 'null'], properties: { ts, width: { type: 'integer' }, height: { type: 'integer' } }, description: 'The newest thumbnail, fetched at .../thumbnail' },
  updatedAt: { ...tsOrNull, description: 'When the registry last heard about this camera' },
};
const statusSchema = object(statusProperties);
const fleetStatusSchema = object({ ...statusProperties, siteId: strOrNull });

const discoveredSchema = object({
  gatewayId: { type: 'string' },
  epr: { type: 'string', description: 'WS-Discovery EndpointReference (urn:uuid:...)' },
  name: strOrNull,
  hardware: strOrNull,
  location: strOrNull,
  xaddrs: { type: 'array', items: { type: 'string' } },
  scopes: { type: 'array', items: { type: 'string' } },
  types: { type: 'array', items: { type: 'string' } },
  from: { type: 'string' },
  firstSeen: ts,
  lastSeen: ts,
  state: { type: 'string', enum: DISCOVERY_STATES },
  cameraId: strOrNull,
  decidedBy: strOrNull,
  decidedAt: tsOrNull,
});

const eprParams = { type: 'object', additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 128 }, epr: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['id', 'epr'] } as const;

/** A strong ETag per camera thumbnail: a newer picture always changes it. */
const thumbEtag = (ts: number) => `"thumb-${ts}"`;

export async function cameraStatusRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['cameras'];
  const viewer = requireRole(services, 'viewer');
  const technician = requireRole(services, 'technician');
  const security = BEARER_SECURITY;
  const svc = services.cameraStatus;

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/cameras/status',
    {
      onRequest: viewer,
      schema: { tags, operationId: 'listGatewayCameraStatus', summary: "State and inventory of a gateway's cameras, as the gateway reports them", security, params: params('id'), response: { 200: object({ cameras: { type: 'array', items: statusSchema } }), ...errorResponses } },
    },
    async (req) => ({ cameras: await svc.listForGateway(req.params.id) }),
  );

  app.get<{ Querystring: { site?: string; state?: string } }>(
    '/v1/cameras/status',
    {
      onRequest: viewer,
      schema: { tags, operationId: 'listFleetCameraStatus', summary: 'Every reported camera of the fleet, by site and state', security, querystring: query({ site: text(64), state: { type: 'string', enum: STATUS_STATES } }), response: { 200: object({ cameras: { type: 'array', items: fleetStatusSchema } }), ...errorResponses } },
    },
    async (req) => ({ cameras: await svc.listFleet({ ...(req.query.site !== undefined && { siteId: req.query.site }), ...(req.query.state !== undefined && { state: req.query.state }) }) }),
  );

  app.get<{ Params: { id: string; cameraId: string } }>(
    '/v1/gateways/:id/cameras/:cameraId/status',
    { onRequest: viewer, schema: { tags, operationId: 'getCameraStatus', summary: "One camera's state and inventory", security, params: params('id', 'cameraId'), response: { 200: statusSchema, ...errorResponses } } },
    async (req) => svc.getForCamera(req.params.id, req.params.cameraId),
  );

  app.get<{ Params: { id: string; cameraId: string } }>(
    '/v1/gateways/:id/cameras/:cameraId/thumbnail',
    {
      onRequest: viewer,
      schema: {
        tags,
        operationId: 'getCameraThumbnail', summary: "The camera's newest thumbnail (image/jpeg); ETag, If-None-Match -> 304",
        security,
        params: params('id', 'cameraId'),
        response: { 200: { description: 'JPEG', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } }, 304: { type: 'null', description: 'Not modified' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const t = await svc.thumbnail(req.params.id, req.params.cameraId);
      const etag = thumbEtag(t.ts);
      reply.header('etag', etag).header('cache-control', 'private, no-cache').header('x-thumbnail-ts', String(t.ts));
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type('image/jpeg').send(t.jpeg);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { state?: DiscoveryState } }>(
    '/v1/gateways/:id/discovered-cameras',
    {
      onRequest: viewer,
      schema: {
        tags,
        operationId: 'listDiscoveredCameras', summary: 'Devices the gateway found with WS-Discovery; untrusted until a technician accepts them',
        security,
        params: params('id'),
        querystring: query({ state: { type: 'string', enum: DISCOVERY_STATES } }),
        response: { 200: object({ discovered: { type: 'array', items: discoveredSchema } }), ...errorResponses },
      },
    },
    async (req) => ({ discovered: await svc.listDiscovered(req.params.id, req.query.state) }),
  );

  app.post<{ Params: { id: string; epr: string }; Body: AcceptDiscoveredInput }>(
    '/v1/gateways/:id/discovered-cameras/:epr/accept',
    {
      onRequest: technician,
      schema: {
        tags,
        operationId: 'acceptDiscoveredCamera', summary: 'Trust a discovered device: create a camera record from its address (technician)',
        security,
        params: eprParams,
        body: body(
          {
            id: slug,
            name: text(200),
            username: { type: ['string', 'null'], maxLength: 128 },
            password: { type: ['string', 'null'], maxLength: 256, description: 'Write-only, stored encrypted' },
            onvifPort: { ...int(1, 65535), description: 'Default: the port of its XAddr' },
          },
          ['id'],
        ),
        response: { 201: object({ camera: cameraSchema, discovered: discoveredSchema }), ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await svc.accept(req.params.id, req.params.epr, req.body, ctxOf(req))),
  );

  app.post<{ Params: { id: string; epr: string } }>(
    '/v1/gateways/:id/discovered-cameras/:epr/dismiss',
    { onRequest: technician, schema: { tags, operationId: 'dismissDiscoveredCamera', summary: 'Dismiss a discovered device; it stays dismissed when seen again (technician)', security, params: eprParams, response: { 200: discoveredSchema, ...errorResponses } } },
    async (req) => svc.dismiss(req.params.id, req.params.epr, ctxOf(req)),
  );
}
