import type { FastifyInstance } from 'fastify';
import { COMMAND_NAMES } from '@cityedge/contract';
import { BEARER_SECURITY, ctxOf, requireRole } from '../http/auth.js';
import { anyObject, body, digits, errorResponses, int, object, params, parseCount, query, text, ts, tsOrNull } from '../http/schemas.js';
import { COMMAND_STATUSES, type CommandStatus } from '../repos/commands-repo.js';
import type { CommandInput } from '../service/command-service.js';
import { NEXT_SCHEMA, nextCursor, parseCursor } from './paging.js';
import type { RouteOptions } from './route-options.js';

const commandProperties = {
  id: { type: 'string', description: 'Random; the gateway executes an id at most once' },
  gatewayId: { type: 'string' },
  name: { type: 'string', enum: COMMAND_NAMES },
  args: { ...anyObject, description: 'As signed, defaults applied' },
  actor: { type: 'string', description: 'The account or token name that sent it' },
  issuedAt: ts,
  expiresAt: { ...ts, description: 'The gateway refuses it after this (ms since the Unix epoch)' },
  state: { type: 'string', enum: COMMAND_STATUSES },
  stateAt: ts,
  progress: { type: ['object', 'null'], properties: { done: { type: 'integer' }, total: { type: 'integer' }, message: { type: 'string' } }, description: 'The newest progress the gateway reported' },
  result: { description: 'The final result (shape per command), or the partial result the newest progress carried; null when none' },
  error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } }, description: 'Why it failed or was refused (EDGE_CMD_* code)' },
  repeat: { type: 'boolean', description: 'The gateway got it again and answered with the stored result' },
  publishedAt: tsOrNull,
  publishCount: { type: 'integer' },
};
const commandSchema = object(commandProperties);
const sentSchema = object({
  ...commandProperties,
  gatewayStatus: { type: 'string', enum: ['unknown', 'online', 'offline'], description: 'unknown: the gateway never connected' },
  warning: { type: ['string', 'null'], description: 'Why it may not reach the gateway soon (not enrolled, never connected, offline, broker down)' },
});

const CURSOR = /^(\d{1,15})\.([A-Za-z0-9_-]{8,64})$/;

export async function commandRoutes(app: FastifyInstance, { services }: RouteOptions): Promise<void> {
  const tags = ['commands'];
  const security = BEARER_SECURITY;

  app.post<{ Params: { id: string }; Body: CommandInput }>(
    '/v1/gateways/:id/commands',
    {
      onRequest: requireRole(services, 'technician'),
      schema: {
        tags,
        operationId: 'sendCommand',
        summary: 'Sign a command, store it and publish it to the gateway (technician)',
        description: 'Arguments are checked with the contract schema of the command (400 naming the field, e.g. body.args.value). The command is signed with the registry key, bound to the gateway, with a random id, the caller as actor and an expiry (ttlMs, default 60 s, at most 1 h). The gateway answers with command.* events; follow the state with GET /v1/commands/{commandId}.',
        security,
        params: params('id'),
        body: body({ name: { type: 'string', enum: COMMAND_NAMES }, args: anyObject, ttlMs: int(1000, 3_600_000) }, ['name']),
        response: { 201: sentSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await services.commands.send(req.params.id, req.body, ctxOf(req))),
  );

  app.get<{ Params: { id: string }; Querystring: { state?: CommandStatus; limit?: string; before?: string } }>(
    '/v1/gateways/:id/commands',
    {
      onRequest: requireRole(services, 'viewer'),
      schema: {
        tags,
        operationId: 'listCommands',
        summary: "A gateway's commands, newest first; page back with before=<next>",
        security,
        params: params('id'),
        querystring: query({ state: { type: 'string', enum: COMMAND_STATUSES }, limit: digits(4), before: text(100) }),
        response: { 200: object({ commands: { type: 'array', items: commandSchema }, next: NEXT_SCHEMA }), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = parseCount(q.limit, 'querystring.limit', 1, 1000, 50);
      const m = parseCursor(q.before, CURSOR);
      const before = m && { issuedAt: Number(m[1]), id: m[2]! };
      const commands = await services.commands.list(req.params.id, { limit, ...(q.state !== undefined && { state: q.state }), ...(before && { before }) });
      return { commands, next: nextCursor(commands, limit, (c) => `${c.issuedAt}.${c.id}`) };
    },
  );

  app.get<{ Params: { commandId: string } }>(
    '/v1/commands/:commandId',
    { onRequest: requireRole(services, 'viewer'), schema: { tags, operationId: 'getCommand', summary: 'One command with its state, progress, result or error', security, params: params('commandId'), response: { 200: commandSchema, ...errorResponses } } },
    async (req) => services.commands.get(req.params.commandId),
  );
}
