import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { installAuth, PUBLIC } from './http/auth.js';
import { errorServerOptions, installErrorHandlers } from './http/error-handler.js';
import { LiveView, type LiveViewOptions } from './live/live-view.js';
import { errorResponses, errorSchema, object } from './http/schemas.js';
import { RegistryMetrics } from './http/metrics.js';
import { accountRoutes } from './routes/accounts.js';
import { alarmRoutes } from './routes/alarms.js';
import { auditRoutes } from './routes/audit.js';
import { cameraStatusRoutes } from './routes/camera-status.js';
import { cameraRoutes } from './routes/cameras.js';
import { commandRoutes } from './routes/commands.js';
import { configRoutes } from './routes/configs.js';
import { consoleRoutes, defaultConsoleDir } from './routes/console.js';
import { deviceRoutes } from './routes/devices.js';
import { DEFAULT_ENROLL_RATE_LIMIT, enrollRoutes } from './routes/enroll.js';
import { eventRoutes } from './routes/events.js';
import { gatewayRoutes } from './routes/gateways.js';
import { liveRoutes } from './routes/live.js';
import { metricsRoutes } from './routes/metrics.js';
import { readingRoutes } from './routes/readings.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { rulesRoutes } from './routes/rules.js';
import { siteRoutes } from './routes/sites.js';
import { streamRoutes, type StreamOptions } from './routes/stream.js';
import { tokenRoutes } from './routes/tokens.js';
import type { RateLimit } from './security/rate-limiter.js';
import { createServices, type RegistryServiceOptions, type RegistryServices } from './service/registry-services.js';
import { REGISTRY_VERSION } from './version.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The services behind the routes, for the broker module and tests. */
    registry: RegistryServices;
    /** Live view relays (started with the server, stopped when it closes). */
    liveView: LiveView;
    /** Prometheus metrics (`/metrics`); the broker and ingest add theirs once they run. */
    metrics: RegistryMetrics;
  }
}

export interface AppHttpOptions {
  /** Enrollment attempts per source address; default 10 per minute. */
  enrollRateLimit?: RateLimit;
  /** The registry's URL as gateways reach it (told to them at enrollment); default from the Host header. */
  publicUrl?: string;
  /** Fastify trustProxy: set behind a reverse proxy so rate limits and audit see the client address. */
  trustProxy?: boolean | string | string[];
  /** Largest body accepted, default 1 MiB. */
  bodyLimit?: number;
  /** A request (headers and body) must arrive within this time, else 408 (slow clients cannot hold sockets); default 30 s. */
  requestTimeoutMs?: number;
  /** Live view: ffmpeg path, ticket lifetime, limits. */
  liveView?: LiveViewOptions;
  /** The built web console served at / (default: $CITYEDGE_CONSOLE_DIR or console/dist of this checkout). */
  consoleDir?: string;
  /** The console's event streams (GET /v1/stream): heartbeat, slow-client limits. */
  stream?: StreamOptions;
}

/** Either ready-made services (shared with the broker module) or what it takes to build them. */
export type AppOptions = AppHttpOptions & ({ services: RegistryServices; logger: Logger } | RegistryServiceOptions);

export const OPENAPI_PATH = '/openapi.json';

/**
 * The registry's HTTP API as a Fastify instance, not listening: `await app.ready()` then
 * `app.inject()` in tests, or `app.listen()` in server.ts.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const services = 'services' in options ? options.services : createServices(options);
  const httpLogger = options.logger.child({ module: 'http' }) as FastifyBaseLogger;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const metrics = new RegistryMetrics();
  metrics.watchGateways(() => services.store.gateways.countByState());
  const app = Fastify({
    loggerInstance: httpLogger,
    ...errorServerOptions(httpLogger, (code) => metrics.countUnreadable(code)),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestTimeout: requestTimeoutMs,
    // Node checks the timeouts every connectionsCheckingInterval (30 s by default), so a short
    // timeout needs a shorter interval to be kept.
    http: { requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(requestTimeoutMs / 2))) },
    ...(options.trustProxy !== undefined && { trustProxy: options.trustProxy }),
    // Bodies are taken as sent: no coercion ("5" is not 5), unknown keys refused, no defaults added.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, allowUnionTypes: true } },
  });
  app.decorate('registry', services);
  const live = new LiveView(services, options.logger, options.liveView);
  app.decorate('liveView', live);
  app.decorate('metrics', metrics);
  app.addHook('onResponse', async (req, reply) => metrics.observeRequest(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000));
  installAuth(app);
  installErrorHandlers(app);
  // Bodies are JSON only: anything else is a 415, not a string that fails validation as a 400.
  app.removeContentTypeParser('text/plain');
  app.addSchema(errorSchema);

  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'cityedge device registry',
        version: REGISTRY_VERSION,
        description: 'Provisioning, fleet inventory and signed over-the-air configuration. Errors: { error: { code, message, field? } } with codes from the README catalogue.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // The configured public URL, else relative to wherever this document was fetched from.
      servers: [{ url: options.publicUrl ?? '/', description: options.publicUrl ? 'this registry' : 'this registry (the host this document was fetched from)' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Operator API token (roles admin, technician, viewer)' },
          gatewayBasic: { type: 'http', scheme: 'basic', description: "A gateway's MQTT username (its id) and password" },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'cityedge_session', description: 'Console session (POST /v1/session). POST, PUT, PATCH and DELETE also need header x-csrf-token equal to the session\'s csrfToken, else 403 REG_CSRF' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });

  const routeOpts = { services };
  app.register(async (scope) => {
    scope.get(OPENAPI_PATH, { schema: { hide: true } }, async () => scope.swagger());
    scope.get('/healthz', { schema: { tags: ['health'], operationId: 'getHealth', summary: 'Liveness and database check (no auth)', security: PUBLIC, response: { 200: object({ status: { type: 'string' }, version: { type: 'string' } }), ...errorResponses } } }, async () => {
      await sql`select 1`.execute(services.store.db);
      return { status: 'ok', version: REGISTRY_VERSION };
    });
  });
  app.register(metricsRoutes, { ...routeOpts, metrics });
  app.register(enrollRoutes, { ...routeOpts, metrics, rateLimit: options.enrollRateLimit ?? DEFAULT_ENROLL_RATE_LIMIT, clock: services.clock, ...(options.publicUrl !== undefined && { publicUrl: options.publicUrl }) });
  app.register(siteRoutes, routeOpts);
  app.register(gatewayRoutes, routeOpts);
  app.register(deviceRoutes, routeOpts);
  app.register(rulesRoutes, routeOpts);
  app.register(cameraStatusRoutes, routeOpts);
  app.register(cameraRoutes, routeOpts);
  app.register(liveRoutes, { ...routeOpts, live, ...(options.publicUrl !== undefined && { publicUrl: options.publicUrl }) });
  app.register(configRoutes, routeOpts);
  app.register(rolloutRoutes, routeOpts);
  app.register(readingRoutes, routeOpts);
  app.register(tokenRoutes, routeOpts);
  app.register(accountRoutes, routeOpts);
  app.register(auditRoutes, routeOpts);
  app.register(commandRoutes, routeOpts);
  app.register(eventRoutes, routeOpts);
  app.register(alarmRoutes, routeOpts);
  app.register(consoleRoutes, { dir: options.consoleDir ?? defaultConsoleDir() });
  const streamStats = { open: 0, droppedReadings: 0, closedSlow: 0 };
  app.decorate('streamStats', streamStats);
  app.register(streamRoutes, { ...routeOpts, stats: streamStats, ...(options.stream && { stream: options.stream }) });
  return app;
}
