import type { FastifyInstance } from 'fastify';
import type { EnrollRequest } from '@cityedge/contract';
import type { Clock } from '../clock.js';
import { RegistryError } from '../errors.js';
import { PUBLIC } from '../http/auth.js';
import type { RegistryMetrics } from '../http/metrics.js';
import { body, errorResponses, object, text } from '../http/schemas.js';
import { RateLimiter, type RateLimit } from '../security/rate-limiter.js';
import type { RouteOptions } from './route-options.js';

export const DEFAULT_ENROLL_RATE_LIMIT: RateLimit = { max: 10, windowMs: 60_000 };

export interface EnrollRouteOptions extends RouteOptions {
  metrics: RegistryMetrics;
  rateLimit: RateLimit;
  clock: Clock;
  /** The registry's URL as gateways reach it; default: from the request's Host. */
  publicUrl?: string;
}

const responseSchema = object({
  gatewayId: { type: 'string' },
  mqtt: object({ url: { type: 'string' }, username: { type: 'string' }, password: { type: 'string', description: 'Shown only here' }, topicPrefix: { type: 'string' } }),
  configPublicKeys: { type: 'array', items: { type: 'string' }, description: 'PEM public keys whose configuration signatures the gateway trusts' },
  registryUrl: { type: 'string' },
});

export async function enrollRoutes(app: FastifyInstance, opts: EnrollRouteOptions): Promise<void> {
  const limiter = new RateLimiter(opts.rateLimit, opts.clock);
  const { services } = opts;

  app.post<{ Body: EnrollRequest }>(
    '/v1/enroll',
    {
      schema: {
        tags: ['enrollment'],
        operationId: 'enrollGateway', summary: "Exchange a one-time enrollment code for the gateway's identity (no auth; rate-limited per address)",
        security: PUBLIC,
        body: body({ code: text(64, { description: 'As printed by the registry; case, spaces and dashes do not matter' }), hostname: text(253) }, ['code']),
        response: { 200: responseSchema, ...errorResponses },
      },
      // Every attempt is counted by its answer: enrolled, or refused with the status (rate limit,
      // bad body, unknown, used or expired code).
      onResponse: async (_req, reply) => opts.metrics.countEnrollment(reply.statusCode),
      // Counted before the body is read, so floods of malformed attempts count too.
      onRequest: async (req) => {
        const retryAfter = limiter.hit(req.ip);
        if (retryAfter > 0) {
          req.log.warn({ sourceIp: req.ip }, 'enrollment attempts rate-limited');
          throw new RegistryError('REG_RATE_LIMITED', `too many enrollment attempts from ${req.ip}; retry in ${retryAfter} s`, { headers: { 'retry-after': String(retryAfter) } });
        }
      },
    },
    async (req) => services.enrollment.enroll(req.body, { actor: { kind: 'enrollment' }, sourceIp: req.ip, registryUrl: opts.publicUrl ?? `${req.protocol}://${req.host}` }),
  );
}
