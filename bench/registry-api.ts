import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { listen, openRegistry, type BrokerIdentity, type ConfigPublisher, type OpenedRegistry } from '@cityedge/device-registry';
import { inPool } from './pool.js';
import type { Scope } from './scope.js';

/**
 * Enrollment attempts allowed per source address in the benchmark. The registry's default is
 * 10 per minute and every request here comes from 127.0.0.1, so the bench lifts it
 * (openRegistry's enrollRateLimit); the figures are those of the work behind the limit.
 */
export const BENCH_ENROLL_RATE_LIMIT = { max: 1_000_000, windowMs: 60_000 };
export const RATE_LIMIT_NOTE = 'enroll rate limit raised for the bench (default 10/min per address)';

export interface BenchRegistry {
  registry: OpenedRegistry;
  url: string;
  api: RegistryApi;
}

export interface BenchRegistryOptions {
  dataDir: string;
  databaseUrl?: string;
  logger: Logger;
  brokerUrl: string;
  publisher?: ConfigPublisher;
  brokerIdentity?: BrokerIdentity;
  documentDefaults?: Record<string, unknown>;
}

/** The registry (HTTP API, storage, keys) on a loopback port, closed with the scope. */
export async function startBenchRegistry(scope: Scope, o: BenchRegistryOptions): Promise<BenchRegistry> {
  const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
  const registry = await openRegistry({
    dataDir: o.dataDir,
    ...(o.databaseUrl !== undefined && { databaseUrl: o.databaseUrl }),
    brokerInfo: { url: o.brokerUrl, topicPrefix: 'edge/v1' },
    logger: o.logger,
    adminToken,
    enrollRateLimit: BENCH_ENROLL_RATE_LIMIT,
    ...(o.publisher && { publisher: o.publisher }),
    ...(o.brokerIdentity && { brokerIdentity: o.brokerIdentity }),
    ...(o.documentDefaults && { documentDefaults: o.documentDefaults }),
  });
  scope.defer(() => registry.close());
  const url = await listen(registry.app, { host: '127.0.0.1', port: 0 });
  return { registry, url, api: new RegistryApi(url, adminToken) };
}

export interface Enrolled {
  gatewayId: string;
  password: string;
}

/** The few registry calls the benchmark makes, over HTTP as a technician's tools would. */
export class RegistryApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, auth = true, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...headers, ...(auth && { authorization: `Bearer ${this.token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Creates a gateway; returns its one-time enrollment code. */
  async createGateway(id: string): Promise<string> {
    const r = await this.call<{ enrollment: { code: string } }>('POST', '/v1/gateways', { id, tags: ['bench'] });
    return r.enrollment.code;
  }

  /**
   * POST /v1/enroll, as `edge-agent enroll` does (no token). `from`: the gateway's own address as
   * a reverse proxy would pass it (X-Forwarded-For), for a registry run with --trust-proxy whose
   * per-address enroll rate limit stays on.
   */
  async enroll(code: string, from?: string): Promise<Enrolled> {
    const r = await this.call<{ gatewayId: string; mqtt: { password: string } }>('POST', '/v1/enroll', { code, hostname: 'bench' }, false, from === undefined ? {} : { 'x-forwarded-for': from });
    return { gatewayId: r.gatewayId, password: r.mqtt.password };
  }

  /** Composes, signs, stores and publishes the gateway's next configuration version. */
  async issueComposedConfig(gatewayId: string): Promise<number> {
    const r = await this.call<{ version: number }>('POST', `/v1/gateways/${gatewayId}/configs`, { note: 'bench' });
    return r.version;
  }
}

/** Creates `n` gateways named `<prefix>-0000`...; returns their codes in order. */
export async function createGateways(api: RegistryApi, prefix: string, n: number, concurrency: number): Promise<{ ids: string[]; codes: string[]; seconds: number }> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  const t0 = performance.now();
  const codes = await inPool(ids, concurrency, (id) => api.createGateway(id));
  return { ids, codes, seconds: (performance.now() - t0) / 1000 };
}
