import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BEARER_SECURITY, ctxOf, PUBLIC, requireRole } from '../http/auth.js';
import { body, emptyBodyIsObject, errorResponses, object, params, text, ts } from '../http/schemas.js';
import { liveWsPath, type LiveView } from '../live/live-view.js';
import type { RouteOptions } from './route-options.js';

export interface LiveRouteOptions extends RouteOptions {
  live: LiveView;
  /** The registry's public URL (behind a proxy); default from the request. */
  publicUrl?: string;
}

const ticketSchema = object({
  wsUrl: { type: 'string', description: 'Open a WebSocket here within expiresAt; single use. The ticket in it is the only credential: do not log it' },
  expiresAt: ts,
  profile: { type: 'string', description: 'The media profile relayed' },
  width: { type: 'integer' },
  height: { type: 'integer' },
  format: { type: 'string', enum: ['jsmpeg'], description: 'First message: "jsmp" + width and height (uint16 BE); then MPEG-TS with MPEG-1 video, as node-rtsp-stream sends it (jsmpeg plays it)' },
});

/** ws(s)://host[:port] of the registry as the caller reached it (or as configured). */
function wsBase(req: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/^http/, 'ws').replace(/\/+$/, '');
  return `${req.protocol === 'https' ? 'wss' : 'ws'}://${req.host}`;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cityedge live view</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em}code{background:#eee;padding:0 .2em}</style></head>
<body><h1>Live view</h1>
<p>This registry relays the camera's stream as MPEG-1 over a WebSocket, in the format of
node-rtsp-stream, which the jsmpeg player shows in a canvas. The registry does not ship the
player (no third-party script is served from here).</p>
<ol>
<li>Ask for a ticket with a technician token:
<code>curl -X POST -H "Authorization: Bearer $TOKEN" <i>this page's URL without</i> .html</code>,
that is <code>POST ./live</code> next to this page. The answer is <code>{ wsUrl, expiresAt, width, height }</code>.</li>
<li>Within <code>expiresAt</code>, open <code>wsUrl</code> once with a jsmpeg player
(<code>new JSMpeg.Player(wsUrl, { canvas })</code>) served from your own operations portal.</li>
<li>The stream stops when the last viewer closes it. A ticket opens one connection.</li>
</ol>
<p>Live view needs ffmpeg on the registry host and assumes the registry can reach the camera's
RTSP port (a central video network); otherwise the request answers why.</p>
</body></html>
`;

export async function liveRoutes(app: FastifyInstance, { services, live, publicUrl }: LiveRouteOptions): Promise<void> {
  const tags = ['cameras'];
  const technician = requireRole(services, 'technician');

  app.addHook('onReady', async () => live.attach(app.server));
  app.addHook('preClose', async () => live.stop());
  app.addHook('onClose', async () => live.stop());

  app.post<{ Params: { id: string; cameraId: string }; Body: { profile?: string } | undefined }>(
    '/v1/gateways/:id/cameras/:cameraId/live',
    {
      onRequest: technician,
      preValidation: emptyBodyIsObject,
      schema: {
        tags,
        operationId: 'requestLiveView', summary: 'Watch a camera live: a single-use WebSocket URL (technician)',
        description:
          'The registry pulls the RTSP stream (URI from the gateway inventory, credentials from the camera record) with ffmpeg and relays it as MPEG-1 to the WebSocket. 503 REG_LIVE_UNAVAILABLE without ffmpeg; 409 REG_LIVE_NO_STREAM before the gateway has reported a stream URI. Assumes the registry can reach the camera.',
        security: BEARER_SECURITY,
        params: params('id', 'cameraId'),
        body: body({ profile: text(64, { description: 'Media profile token; default: the first with a stream URI' }) }),
        response: { 201: ticketSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { id, cameraId } = req.params;
      const t = await live.requestTicket(id, cameraId, req.body?.profile, ctxOf(req));
      const wsUrl = `${wsBase(req, publicUrl)}${liveWsPath(id, cameraId)}?ticket=${t.ticket}`;
      return reply.code(201).header('cache-control', 'no-store').send({ wsUrl, expiresAt: t.expiresAt, profile: t.source.profileToken, width: t.source.width, height: t.source.height, format: 'jsmpeg' });
    },
  );

  app.get(
    '/v1/gateways/:id/cameras/:cameraId/live.html',
    {
      schema: {
        tags,
        operationId: 'getLiveViewPage',
        summary: 'How to watch a camera live (a static page; no auth, no data)',
        security: PUBLIC,
        params: params('id', 'cameraId'),
        response: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } }, ...errorResponses },
      },
    },
    async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .header('x-content-type-options', 'nosniff')
        .send(PAGE),
  );
}
