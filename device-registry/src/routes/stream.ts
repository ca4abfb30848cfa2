import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { invalid, notFound } from '../errors.js';
import { BEARER_SECURITY, requireRole } from '../http/auth.js';
import { errorResponses, query, text } from '../http/schemas.js';
import { STREAM_EVENTS, STREAM_TOPICS, type StreamTopic } from '../service/event-hub.js';
import type { RouteOptions } from './route-options.js';

export interface StreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream; default 15 s. */
  heartbeatMs?: number;
  /** Above this many unsent bytes a client is slow: its readings are dropped (counted); default 64 KiB. */
  slowBytes?: number;
  /** Above this many unsent bytes the stream is closed (the client reconnects); default 1 MiB. */
  maxBytes?: number;
  /** The `retry:` the client waits before reconnecting; default 3 s. */
  retryMs?: number;
}

export interface StreamRouteOptions extends RouteOptions {
  stream?: StreamOptions;
  /** Counted here (the app decorates itself with it). */
  stats: StreamStats;
}

/** Counters of the event streams, for tests and metrics. */
export interface StreamStats {
  open: number;
  /** Readings events not sent to slow clients. */
  droppedReadings: number;
  /** Streams closed because their client fell too far behind. */
  closedSlow: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    streamStats: StreamStats;
  }
}

/** One client's stream: frames written while the socket keeps up, readings dropped while it does not. */
class StreamConnection {
  private dropped = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly stats: StreamStats,
    private readonly o: Required<StreamOptions>,
    private readonly close: () => void,
  ) {}

  send(frame: string, topic: StreamTopic): void {
    const pending = this.res.writableLength;
    if (pending > this.o.maxBytes) {
      this.stats.closedSlow++;
      this.close();
      return;
    }
    if (topic === 'readings' && pending > this.o.slowBytes) {
      this.dropped++;
      this.stats.droppedReadings++;
      return;
    }
    if (this.dropped > 0) {
      this.res.write(`event: dropped\ndata: ${JSON.stringify({ readings: this.dropped })}\n\n`);
      this.dropped = 0;
    }
    this.res.write(frame);
  }

  comment(text: string): void {
    if (this.res.writableLength <= this.o.slowBytes) this.res.write(`: ${text}\n\n`);
  }
}

function parseTopics(raw: string | undefined): Set<StreamTopic> {
  if (raw === undefined) return new Set(STREAM_TOPICS);
  const topics = new Set<StreamTopic>();
  for (const t of raw.split(',').map((s) => s.trim())) {
    if (!(STREAM_TOPICS as readonly string[]).includes(t)) throw invalid('querystring.topics', `"${t}" is not a topic; use a comma-separated list of ${STREAM_TOPICS.join(', ')}`);
    topics.add(t as StreamTopic);
  }
  return topics;
}

/**
 * GET /v1/stream: Server-Sent Events of live changes from the registry's event hub, for the
 * console. Closed streams unsubscribe at once; the server closes every stream when it stops.
 */
export async function streamRoutes(app: FastifyInstance, { services, stream, stats }: StreamRouteOptions): Promise<void> {
  const o: Required<StreamOptions> = { heartbeatMs: 15_000, slowBytes: 64 * 1024, maxBytes: 1024 * 1024, retryMs: 3000, ...stream };
  const closers = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const c of [...closers]) c();
  });

  const events = Object.values(STREAM_EVENTS).join(', ');
  app.get<{ Querystring: { gateway?: string; topics?: string } }>(
    '/v1/stream',
    {
      onRequest: requireRole(services, 'viewer'),
      schema: {
        tags: ['stream'],
        operationId: 'openStream',
        summary: 'Live changes as Server-Sent Events (viewer)',
        description: `Events (the SSE \`event:\` name; \`data:\` is JSON): ${events}; \`dropped\` {readings} when readings were left out for a slow client. readings only with ?gateway=. A comment every 15 s; \`retry:\` 3 s.`,
        security: BEARER_SECURITY,
        querystring: query({ gateway: text(128, { description: "Only this gateway's events (needed for readings)" }), topics: text(200, { description: `Comma-separated: ${STREAM_TOPICS.join(',')}; default all` }) }),
        response: { 200: { description: 'An endless text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const topics = parseTopics(req.query.topics);
      const gatewayId = req.query.gateway;
      if (gatewayId !== undefined && !(await services.store.gateways.get(gatewayId))) throw notFound('gateway', gatewayId);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-content-type-options': 'nosniff' });
      res.write(`retry: ${o.retryMs}\n: stream open\n\n`);
      stats.open++;
      const conn = new StreamConnection(res, stats, o, () => close());
      const unsubscribe = services.hub.subscribe({ gatewayId, topics, deliver: (frame, topic) => conn.send(frame, topic) });
      const timer = setInterval(() => conn.comment('ping'), o.heartbeatMs);
      timer.unref();
      const close = (): void => {
        if (!closers.delete(close)) return;
        stats.open--;
        unsubscribe();
        clearInterval(timer);
        res.end();
        res.destroy();
      };
      closers.add(close);
      res.on('close', close);
      res.on('error', close);
      req.log.debug({ gatewayId, topics: [...topics] }, 'event stream opened');
    },
  );
}
