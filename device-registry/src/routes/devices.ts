import type { FastifyInstance } from 'fastify';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { errorResponses, int, intOrNull, noContent, object, params, strOrNull, text, ts } from '../http/schemas.js';
import type { DeviceRecord, LineRecord } from '../repos/inventory-repo.js';
import type { DeviceInput, LineInput } from '../service/device-service.js';
import { contractBody, DeviceBody, jsonSchemaOf, LineBody, NewDeviceBody } from './inventory-bodies.js';
import type { RouteOptions } from './route-options.js';

/** What a line record shows (responses); requests are checked with the contract's schema (inventory-bodies.ts). */
const lineFields = {
  type: { type: 'string', enum: ['rtu', 'tcp', 'rtu-over-tcp', 'firmata'] },
  path: text(256, { description: 'Serial device (rtu, firmata), e.g. /dev/ttyUSB0' }),
  host: text(253, { description: 'Host (tcp, rtu-over-tcp, a network firmata board)' }),
  port: int(1, 65535),
  baudRate: int(1, 4_000_000),
  parity: { type: 'string', enum: ['none', 'even', 'odd'] },
  dataBits: { type: 'integer', enum: [7, 8] },
  stopBits: { type: 'integer', enum: [1, 2] },
  interFrameGapMs: { type: 'number', minimum: 0, maximum: 1000 },
  timeoutMs: int(10, 60_000),
  retries: int(0, 5),
  maxGapRegisters: int(0, 100),
  quarantineAfter: int(1, 100),
  maxBackoffMs: int(1000, 3_600_000),
  pollIntervalMs: int(100, 86_400_000),
  samplingIntervalMs: int(10, 65_535),
  handshakeTimeoutMs: int(500, 120_000),
  devices: { type: 'array', description: "A firmata board's devices with their pins (Modbus lines' devices are device records)", items: { type: 'object', additionalProperties: true } },
};
const lineSchema = { type: 'object', required: ['id', 'type', 'createdAt', 'updatedAt'], properties: { id: { type: 'string' }, ...lineFields, createdAt: ts, updatedAt: ts } };

const deviceSchema = object({
  gatewayId: { type: 'string' },
  id: { type: 'string' },
  lineId: { type: 'string' },
  name: strOrNull,
  profile: { type: 'string' },
  unitId: intOrNull,
  pollIntervalMs: intOrNull,
  addressOffset: { type: 'integer' },
  timeoutMs: intOrNull,
  enabled: { type: 'boolean' },
  points: { type: 'object', additionalProperties: true },
  createdAt: ts,
  updatedAt: ts,
});

function lineView(l: LineRecord): Record<string, unknown> {
  return { ...l.settings, id: l.id, type: l.type, ...(l.path !== null && { path: l.path }), ...(l.host !== null && { host: l.host }), ...(l.port !== null && { port: l.port }), createdAt: l.createdAt, updatedAt: l.updatedAt };
}

const deviceView = (d: DeviceRecord) => d;

export async function deviceRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['lines and devices'];
  const viewer = requireRole(services, 'viewer');
  const technician = requireRole(services, 'technician');
  const security = BEARER_SECURITY;

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/lines',
    { onRequest: viewer, schema: { tags, operationId: 'listLines', summary: "List a gateway's lines", security, params: params('id'), response: { 200: object({ lines: { type: 'array', items: lineSchema } }), ...errorResponses } } },
    async (req) => ({ lines: (await services.devices.listLines(req.params.id)).map(lineView) }),
  );

  app.put<{ Params: { id: string; lineId: string }; Body: LineInput }>(
    '/v1/gateways/:id/lines/:lineId',
    {
      onRequest: technician,
      preValidation: contractBody(LineBody),
      schema: { tags, operationId: 'putLine', summary: 'Create or replace a line (technician)', security, params: params('id', 'lineId'), body: jsonSchemaOf(LineBody), response: { 200: lineSchema, 201: lineSchema, ...errorResponses } },
    },
    async (req, reply) => {
      const { line, created } = await services.devices.putLine(req.params.id, req.params.lineId, req.body, ctxOf(req));
      return reply.code(created ? 201 : 200).send(lineView(line));
    },
  );

  app.delete<{ Params: { id: string; lineId: string } }>(
    '/v1/gateways/:id/lines/:lineId',
    { onRequest: technician, schema: { tags, operationId: 'deleteLine', summary: 'Delete a line without devices (technician)', security, params: params('id', 'lineId'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await services.devices.deleteLine(req.params.id, req.params.lineId, ctxOf(req));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/gateways/:id/devices',
    { onRequest: viewer, schema: { tags, operationId: 'listDevices', summary: "List a gateway's devices", security, params: params('id'), response: { 200: object({ devices: { type: 'array', items: deviceSchema } }), ...errorResponses } } },
    async (req) => ({ devices: (await services.devices.listDevices(req.params.id)).map(deviceView) }),
  );

  app.post<{ Params: { id: string }; Body: DeviceInput & { id: string } }>(
    '/v1/gateways/:id/devices',
    {
      onRequest: technician,
      preValidation: contractBody(NewDeviceBody),
      schema: { tags, operationId: 'addDevice', summary: 'Add a device, checked against its profile and line (technician)', security, params: params('id'), body: jsonSchemaOf(NewDeviceBody), response: { 201: deviceSchema, ...errorResponses } },
    },
    async (req, reply) => reply.code(201).send(deviceView(await services.devices.createDevice(req.params.id, req.body, ctxOf(req)))),
  );

  app.get<{ Params: { id: string; deviceId: string } }>(
    '/v1/gateways/:id/devices/:deviceId',
    { onRequest: viewer, schema: { tags, operationId: 'getDevice', summary: 'Get a device', security, params: params('id', 'deviceId'), response: { 200: deviceSchema, ...errorResponses } } },
    async (req) => deviceView(await services.devices.getDevice(req.params.id, req.params.deviceId)),
  );

  app.put<{ Params: { id: string; deviceId: string }; Body: DeviceInput }>(
    '/v1/gateways/:id/devices/:deviceId',
    {
      onRequest: technician,
      preValidation: contractBody(DeviceBody),
      schema: { tags, operationId: 'replaceDevice', summary: 'Replace a device (technician)', security, params: params('id', 'deviceId'), body: jsonSchemaOf(DeviceBody), response: { 200: deviceSchema, ...errorResponses } },
    },
    async (req) => deviceView(await services.devices.replaceDevice(req.params.id, req.params.deviceId, req.body, ctxOf(req))),
  );

  app.delete<{ Params: { id: string; deviceId: string } }>(
    '/v1/gateways/:id/devices/:deviceId',
    { onRequest: technician, schema: { tags, operationId: 'removeDevice', summary: 'Remove a device (technician)', security, params: params('id', 'deviceId'), response: { ...noContent, ...errorResponses } } },
    async (req, reply) => {
      await services.devices.deleteDevice(req.params.id, req.params.deviceId, ctxOf(req));
      return reply.code(204).send();
    },
  );
}
