import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { installAuth } from './http/auth.js';
import { installErrorHandlers } from './http/error-handler.js';
import { LiveView, type LiveViewOptions } from './live/live-view.js';
import { errorResponses, errorSchema, object } from './http/schemas.js';
import { alarmRoutes } from './routes/alarms.js';
import { auditRoutes } from './routes/audit.js';
import { cameraStatusRoutes } from './routes/camera-status.js';
import { cameraRoutes } from './routes/cameras.js';
import { commandRoutes } from './routes/commands.js';
import { configRoutes } from './routes/configs.js';
import { deviceRoutes } from './routes/devices.js';
import { DEFAULT_ENROLL_RATE_LIMIT, enrollRoutes } from './routes/enroll.js';
import { eventRoutes } from './routes/events.js';
import { gatewayRoutes } from './routes/gateways.js';
import { liveRoutes } from './routes/live.js';
import { readingRoutes } from './routes/readings.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { siteRoutes } from './routes/sites.js';
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
  /** Live view: ffmpeg path, ticket lifetime, limits. */
  liveView?: LiveViewOptions;
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
  const app = Fastify({
    loggerInstance: options.logger.child({ module: 'http' }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ...(options.trustProxy !== undefined && { trustProxy: options.trustProxy }),
    // Bodies are taken as sent: no coercion ("5" is not 5), unknown keys refused, no defaults added.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });
  app.decorate('registry', services);
  const live = new LiveView(services, options.logger, options.liveView);
  app.decorate('liveView', live);
  installAuth(app);
  installErrorHandlers(app);
  app.addSchema(errorSchema);

  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'cityedge device registry', version: REGISTRY_VERSION, description: 'Provisioning, fleet inventory and signed over-the-air configuration. Errors: { error: { code, message, field? } } with codes from the README catalogue.' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Operator API token (roles admin, technician, viewer)' },
          gatewayBasic: { type: 'http', scheme: 'basic', description: "A gateway's MQTT username (its id) and password" },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });

  const routeOpts = { services };
  app.register(async (scope) => {
    scope.get(OPENAPI_PATH, { schema: { hide: true } }, async () => scope.swagger());
    scope.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness and database check (no auth)', response: { 200: object({ status: { type: 'string' }, version: { type: 'string' } }), ...errorResponses } } }, async () => {
      await sql`select 1`.execute(services.store.db);
      return { status: 'ok', version: REGISTRY_VERSION };
    });
  });
  app.register(enrollRoutes, { ...routeOpts, rateLimit: options.enrollRateLimit ?? DEFAULT_ENROLL_RATE_LIMIT, clock: services.clock, ...(options.publicUrl !== undefined && { publicUrl: options.publicUrl }) });
  app.register(siteRoutes, routeOpts);
  app.register(gatewayRoutes, routeOpts);
  app.register(deviceRoutes, routeOpts);
  app.register(cameraStatusRoutes, routeOpts);
  app.register(cameraRoutes, routeOpts);
  app.register(liveRoutes, { ...routeOpts, live, ...(options.publicUrl !== undefined && { publicUrl: options.publicUrl }) });
  app.register(configRoutes, routeOpts);
  app.register(rolloutRoutes, routeOpts);
  app.register(readingRoutes, routeOpts);
  app.register(tokenRoutes, routeOpts);
  app.register(auditRoutes, routeOpts);
  app.register(commandRoutes, routeOpts);
  app.register(eventRoutes, routeOpts);
  app.register(alarmRoutes, routeOpts);
  return app;
}
