import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { body, errorResponses, int, noContent, object, params, slug, strOrNull, text, ts } from '../http/schemas.js';
import type { CameraInput } from '../service/camera-service.js';
import type { RouteOptions } from './route-options.js';

const cameraFields = {
  name: text(200),
  host: text(253),
  onvifPort: { ...int(1, 65535), description: 'Default 80' },
  username: { type: ['string', 'null'], maxLength: 128 },
  password: { type: ['string', 'null'], maxLength: 256, description: 'Write-only, stored encrypted. Omit to keep the stored one, null to clear it' },
};
export const cameraSchema = object({
  gatewayId: { type: 'string' },
  id: { type: 'string' },
  name: { type: 'string' },
  host: { type: 'string' },
  onvifPort: { type: 'integer' },
  username: strOrNull,
  hasPassword: { type: 'boolean' },
  inventory: { type: ['object', 'null'], additionalProperties: true },
  createdAt: ts,
  updatedAt: ts,
});

export async function cameraRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['cameras'];
  const viewer = requireRole(services, 'viewer');
  const technician = requireRole(services, 'technician');
  const security = BEARER_SECURITY;

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/cameras',
    { onRequest: viewer, schema: { tags, operationId: 'listCameras', summary: "List a gateway's cameras", security, params: params('id'), response: { 200: object({ cameras: { type: 'array', items: cameraSchema } }), ...errorResponses } } },
    async (req) => ({ cameras: await services.cameras.list(req.params.id) }),
  );

  app.post<{ Params: { id: string }; Body: CameraInput & { id: string } }>(
    '/v1/gateways/:id/cameras',
    { onRequest: technician, schema: { tags, operationId: 'addCamera', summary: 'Add a camera (technician)', security, params: params('id'), body: body({ id: slug, ...cameraFields }, ['id', 'name', 'host']), response: { 201: cameraSchema, ...errorResponses } } },
    async (req, reply) => reply.code(201).send(await services.cameras.create(req.params.id, req.body, ctxOf(req))),
  );

  app.get<{ Params: { id: string; cameraId: string } }>(
    '/v1/gateways/:id/cameras/:cameraId',
    { onRequest: viewer, schema: { tags, operationId: 'getCamera', summary: 'Get a camera (without its password)', security, params: params('id', 'cameraId'), response: { 200: cameraSchema, ...errorResponses } } },
    async (req) => services.cameras.get(req.params.id, req.params.cameraId),
  );

  app.put<{ Params: { id: string; cameraId: string }; Body: CameraInput }>(
    '/v1/gateways/:id/cameras/:cameraId',
    { onRequest: technician, schema: { tags, operationId: 'replaceCamera', summary: 'Replace a camera (technician)', security, params: params('id', 'cameraId'), body: body(cameraFields, ['name', 'host']), response: { 200: cameraSchema, ...errorResponses } } },
    async (req) => services.cameras.replace(req.params.id, req.params.cameraId, req.body, ctxOf(req)),
  );

  app.delete<{ Params: { id: string; cameraId: string } }>(
    '/v1/gateways/:id/cameras/:cameraId',
    { onRequest: technician, schema: { tags, operationId: 'removeCamera', summary: 'Remove a camera (technician)', security, params: params('id', 'cameraId'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await services.cameras.delete(req.params.id, req.params.cameraId, ctxOf(req));
      return reply.code(204).send();
    },
  );
}
