import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { DEFAULT_TOPIC_PREFIX, isValidGatewayId } from '@cityedge/contract';
import { clientIdAllowed, mayPublish, maySubscribe, principalName, type AclDecision, type Principal } from './acl.js';
import { AccountTable, type BrokerAccount } from './accounts.js';
import { BrokerError } from './errors.js';
import type { BrokerAuditEvent, BrokerAuditSink, BrokerIdentityProvisioner, GatewayCredentialStore } from './ports.js';
import { MQTT_EXCHANGE, routingKeyToTopic } from './rabbitmq-topology.js';

export interface RabbitmqAuthOptions {
  credentials: GatewayCredentialStore;
  audit: BrokerAuditSink;
  logger: Logger;
  prefix?: string;
  /** The registry's service account and further accounts (consumers); names must not be gateway ids. */
  accounts: BrokerAccount[];
  /** The one virtual host MQTT uses (`mqtt.vhost`); default `/`. */
  vhost?: string;
  /** Address of the endpoints' own HTTP listener; default 127.0.0.1 (the brokers' side only). */
  host?: string;
  /** 0 for any free port. */
  port?: number;
  /**
   * A shared secret as the first path segment (`/broker/rabbitmq/<secret>/user`), for a listener
   * that is not on loopback. Requests without it get 404. The listener logs no URLs.
   */
  secret?: string;
}

export type RabbitmqAuthPath = 'user' | 'vhost' | 'resource' | 'topic';

/**
 * The registry as RabbitMQ's authentication and authorisation backend
 * (rabbitmq_auth_backend_http, behind rabbitmq_auth_backend_cache): RabbitMQ POSTs form-encoded
 * questions to user_path, vhost_path, resource_path and topic_path and reads `allow` or `deny`.
 * - user: a gateway logs in with username = client id = gateway id and its password (checked
 *   against the registry's store, so enrollment and decommissioning need no broker call); an
 *   account (the registry's service account, consumers) with its configured password.
 * - topic: the MQTT topic (routing key with `.` ↔ `/`, `*` → `+`) goes through the same
 *   mayPublish / maySubscribe rule as the embedded broker (acl.ts).
 * - resource: gateways and consumers may use amq.topic and their own MQTT subscription queues
 *   (`mqtt-subscription-<client id>qos0|1`), nothing else; the service account everything.
 * Denials are audited like the embedded broker's. The endpoints are served on their own
 * listener (loopback by default), apart from the public API.
 */
export class RabbitmqAuthBackend implements BrokerIdentityProvisioner {
  private server: Server | undefined;
  private readonly accounts: AccountTable;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly vhost: string;
  readonly counters = { connectDenied: 0, publishDenied: 0, subscribeDenied: 0, resourceDenied: 0, requests: 0 };

  constructor(private readonly opts: RabbitmqAuthOptions) {
    this.log = opts.logger.child({ module: 'rabbitmq-auth' });
    this.prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
    this.vhost = opts.vhost ?? '/';
    this.accounts = new AccountTable(opts.accounts);
  }

  /** The base URL RabbitMQ is configured with (`auth_http.user_path = <base>/user`, ...). */
  get baseUrl(): string {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    if (!addr) throw new BrokerError('REG_BROKER_UNAVAILABLE', 'the RabbitMQ auth endpoints are not started');
    const host = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}${this.basePath}`;
  }

  private get basePath(): string {
    return this.opts.secret ? `/broker/rabbitmq/${encodeURIComponent(this.opts.secret)}` : '/broker/rabbitmq';
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    const name = path.startsWith(this.basePath + '/') ? path.slice(this.basePath.length + 1) : '';
    if (!['user', 'vhost', 'resource', 'topic'].includes(name)) return answer(404, 'not found');
    if (req.method !== 'POST' && req.method !== 'GET') return answer(405, 'method not allowed');
    let body = '';
    req.setEncoding('utf8');
    for await (const chunk of req) {
      body += chunk as string;
      if (body.length > 16_384) return answer(413, 'too large');
    }
    const params = new URLSearchParams(req.method === 'POST' ? body : (url.split('?')[1] ?? ''));
    try {
      answer(200, await this.decide(name as RabbitmqAuthPath, params));
    } catch (err) {
      // A storage failure: deny (RabbitMQ refuses the login), never a 5xx RabbitMQ would log as an error of ours.
      this.log.error({ err: (err as Error).message, path: name }, 'rabbitmq auth decision failed; denied');
      answer(200, 'deny');
    }
  }

  /** One question of RabbitMQ's HTTP backend, answered `allow` or `deny`. */
  async decide(path: RabbitmqAuthPath, p: URLSearchParams): Promise<string> {
    this.counters.requests++;
    const username = p.get('username') ?? '';
    const principal = this.principalOf(username);
    switch (path) {
      case 'user': {
        const clientId = p.get('client_id') ?? undefined;
        const reason = await this.checkLogin(principal, username, p.get('password') ?? '', clientId);
        if (reason === undefined) return 'allow';
        this.counters.connectDenied++;
        this.audit({ action: 'mqtt.connect.denied', actor: principal ? principalName(principal) : username ? `unknown` : 'unknown', details: { reason, username, ...(clientId && { clientId }) } });
        return 'deny';
      }
      case 'vhost':
        return principal && p.get('vhost') === this.vhost ? 'allow' : 'deny';
      case 'resource': {
        if (!principal || p.get('vhost') !== this.vhost) return 'deny';
        const ok = resourceAllowed(principal, p.get('resource') ?? '', p.get('name') ?? '');
        if (!ok) {
          this.counters.resourceDenied++;
          this.log.debug({ actor: principalName(principal), resource: p.get('resource'), name: p.get('name'), permission: p.get('permission') }, 'resource denied');
        }
        return ok ? 'allow' : 'deny';
      }
      case 'topic': {
        if (!principal || p.get('vhost') !== this.vhost || p.get('name') !== MQTT_EXCHANGE) return 'deny';
        const key = p.get('routing_key') ?? '';
        const topic = routingKeyToTopic(key);
        const write = p.get('permission') === 'write';
        const d: AclDecision = write ? mayPublish(principal, topic, this.prefix) : maySubscribe(principal, topic, this.prefix);
        if (d.allow) return 'allow';
        if (write) this.counters.publishDenied++;
        else this.counters.subscribeDenied++;
        this.audit({ action: write ? 'mqtt.publish.denied' : 'mqtt.subscribe.denied', actor: principalName(principal), details: { reason: d.reason, username, topic } });
        return 'deny';
      }
    }
  }

  private principalOf(username: string): Principal | undefined {
    const role = this.accounts.role(username);
    if (role) return { kind: 'account', username, role };
    return isValidGatewayId(username) ? { kind: 'gateway', gatewayId: username } : undefined;
  }

  /** undefined when the login is good, else the reason it is not. */
  private async checkLogin(principal: Principal | undefined, username: string, password: string, clientId: string | undefined): Promise<string | undefined> {
    if (!principal) return username ? 'unknown user' : 'no username';
    if (principal.kind === 'account') {
      if (!this.accounts.passwordMatches(username, password)) return 'wrong password';
    } else if (!(await this.opts.credentials.verifyGatewayPassword(principal.gatewayId, password))) return 'unknown gateway or wrong password';
    if (clientId !== undefined && !clientIdAllowed(principal, clientId)) return `client id must be "${username}"${principal.kind === 'account' ? ` or start with "${username}-"` : ''}`;
    return undefined;
  }

  private audit(e: Omit<BrokerAuditEvent, 'at'>): void {
    try {
      void Promise.resolve(this.opts.audit({ ...e, at: Date.now() })).catch((err: unknown) => this.log.warn({ err }, 'audit failed'));
    } catch (err) {
      this.log.warn({ err }, 'audit failed');
    }
  }

  // BrokerIdentityProvisioner: every uncached login asks the registry's store, so enrollment,
  // a new password and decommissioning take effect at the next login after the cache TTL.
  // RabbitMQ keeps an established session; see the README ("Province layout").
  async provisionGateway(): Promise<void> {}
  async setGatewayPassword(): Promise<void> {}
  async deprovisionGateway(): Promise<void> {}
}

/** Exchanges and queues a principal may touch (any permission). */
export function resourceAllowed(p: Principal, resource: string, name: string): boolean {
  if (p.kind === 'account' && p.role === 'service') return true;
  if (resource === 'exchange') return name === MQTT_EXCHANGE;
  if (resource !== 'queue') return false;
  // The MQTT plugin's queue for a client: mqtt-subscription-<client id>qos0 / qos1.
  const m = /^mqtt-subscription-(.+)qos[01]$/.exec(name);
  if (!m) return false;
  return clientIdAllowed(p, m[1]!);
}
