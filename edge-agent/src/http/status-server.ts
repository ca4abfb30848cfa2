import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export type HealthState = 'ok' | 'degraded' | 'failing';

export interface Health {
  status: HealthState;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface StatusServerOptions {
  host: string;
  port: number;
  logger: Logger;
  health: () => Health;
  metrics: () => Promise<string>;
  metricsContentType: string;
}

/**
 * `/healthz` (JSON; 200 when ok or degraded, 503 when failing) and `/metrics` (Prometheus text).
 * Bound to loopback by default: it shows device ids and counts, nothing secret.
 */
export class StatusServer {
  private server: Server | undefined;
  private readonly opts: StatusServerOptions;

  constructor(opts: StatusServerOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    const log = this.opts.logger.child({ module: 'http' });
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url === '/healthz') {
        const h = this.opts.health();
        res.writeHead(h.status === 'failing' ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(h));
        return;
      }
      if (url === '/metrics') {
        this.opts.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.opts.metricsContentType }).end(text),
          (err: unknown) => {
            log.error({ err }, 'metrics collection failed');
            res.writeHead(500).end();
          },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.error({ err }, 'status server error'));
    this.server = server;
    log.info({ url: `http://${this.opts.host}:${this.port}` }, 'status server listening');
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
