import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { DEFAULT_TOPIC_PREFIX, isValidGatewayId } from '@cityedge/contract';
import { AccountTable, type BrokerAccount } from './accounts.js';
import { clientIdAllowed, mayPublish, maySubscribe, principalName, type AclDecision, type Principal } from './acl.js';
import { BrokerError } from './errors.js';
import type { MqttConnection } from './mqtt-connection.js';
import type { BrokerAuditEvent, BrokerAuditSink, BrokerIdentityProvisioner, GatewayCredentialStore } from './ports.js';

/** CONNACK return codes of MQTT 3.1.1 (aedes' AuthErrorCode is an ambient const enum). */
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export type { BrokerAccount } from './accounts.js';

export interface EmbeddedBrokerOptions {
  /** 0 for an ephemeral port (tests). */
  port: number;
  /** Default 127.0.0.1; 0.0.0.0 to serve gateways on other machines. */
  host?: string;
  /** Serve mqtts instead of mqtt. */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  credentials: GatewayCredentialStore;
  audit: BrokerAuditSink;
  logger: Logger;
  prefix?: string;
  /** The registry's own account; the password is random per start unless given. Default username `_registry`. */
  serviceAccount?: { username?: string; password?: string };
  /** Further accounts: more service clients, or read-only consumers (ingest, dashboards). */
  accounts?: BrokerAccount[];
  /**
   * Failed logins per source address (the registry's RateLimiter fits): while `peek` is non-zero
   * the address is refused before any password hash is computed; each failed login is a `hit`.
   */
  loginLimiter?: { peek(key: string): number; hit(key: string): number };
  now?: () => number;
  randomBytes?: (size: number) => Buffer;
}

export interface EmbeddedBrokerStats {
  connectDenied: number;
  publishDenied: number;
  subscribeDenied: number;
  connected: number;
}

/**
 * The single-machine broker: aedes on a TCP (or TLS) listener in the registry's process.
 * Gateways log in with username = gateway id, client id = gateway id and their password, checked
 * against the registry's store on every connect; every publish and subscribe goes through the
 * ACL in acl.ts. A denied SUBSCRIBE is answered with granted QoS 0x80; a denied PUBLISH is not
 * delivered and, MQTT 3.1.1 having no negative PUBACK, the connection is closed. Every denial is
 * audited. aedes speaks MQTT 3.1.1 only and has no shared subscriptions.
 */
export class EmbeddedBroker implements BrokerIdentityProvisioner {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly principals = new WeakMap<Client, Principal>();
  private readonly live = new Map<string, Set<Client>>();
  private accounts = new AccountTable([]);
  private service: { username: string; password: string } | undefined;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly counters = { connectDenied: 0, publishDenied: 0, subscribeDenied: 0 };
  private boundPort = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.log = opts.logger.child({ module: 'embedded-broker' });
    this.prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
    this.now = opts.now ?? Date.now;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.opts.host && this.opts.host !== '0.0.0.0' ? this.opts.host : '127.0.0.1';
    return `${this.opts.tls ? 'mqtts' : 'mqtt'}://${host}:${this.boundPort}`;
  }

  /** Credentials of the registry's own account (MQTT 3.1.1, as aedes requires). */
  serviceConnection(clientId?: string): MqttConnection {
    if (!this.service) throw new BrokerError('REG_BROKER_UNAVAILABLE', 'the embedded broker is not started');
    return { url: this.url, username: this.service.username, password: this.service.password, protocolVersion: 4, ...(clientId ? { clientId } : {}) };
  }

  async start(): Promise<void> {
    if (this.aedes) return;
    this.configureAccounts();
    const aedes = await Aedes.createBroker({
      maxClientsIdLength: 128,
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (principal) => {
            this.principals.set(client, principal);
            done(null, true);
          },
          (err: Error) => done(err as Error & { returnCode: number }, false),
        );
      },
      authorizePublish: (client, packet, done) => done(this.authorizePublish(client, packet)),
      authorizeSubscribe: (client, sub, done) => done(null, this.authorizeSubscribe(client, sub)),
    });
    aedes.on('client', (client) => this.track(client, true));
    aedes.on('clientDisconnect', (client) => this.track(client, false));
    aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'client connection closed on error'));
    const handle = (socket: Socket): void => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    };
    const server = this.opts.tls ? createTlsServer({ key: this.opts.tls.key, cert: this.opts.tls.cert, ...(this.opts.tls.ca ? { ca: this.opts.tls.ca } : {}) }, handle) : createServer(handle);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw new BrokerError('REG_BROKER_UNAVAILABLE', `cannot listen on ${this.opts.host ?? '127.0.0.1'}:${this.opts.port}: ${(err as Error).message}`, { cause: err });
    }
    server.on('error', (err) => this.log.error({ err: err.message }, 'broker listener error'));
    this.boundPort = (server.address() as AddressInfo).port;
    this.aedes = aedes;
    this.server = server;
    this.log.info({ url: this.url, serviceUser: this.service?.username }, 'embedded broker listening');
  }

  async stop(): Promise<void> {
    const { server, aedes } = this;
    this.server = undefined;
    this.aedes = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      await closed;
    }
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    this.live.clear();
  }

  stats(): EmbeddedBrokerStats {
    let connected = 0;
    for (const set of this.live.values()) connected += set.size;
    return { ...this.counters, connected };
  }

  /** Drops the live sessions of a gateway (after decommissioning or a new password). Returns how many. */
  disconnectGateway(gatewayId: string): number {
    const set = this.live.get(`gateway:${gatewayId}`);
    if (!set) return 0;
    for (const client of set) client.close();
    return set.size;
  }

  /** Nothing to write: every connect is checked against the store. */
  async provisionGateway(): Promise<void> {}

  /** Call after the store holds the new hash: live sessions with the old password are dropped. */
  async setGatewayPassword(gatewayId: string): Promise<void> {
    this.disconnectGateway(gatewayId);
  }

  /** Call after the store marks the gateway decommissioned. */
  async deprovisionGateway(gatewayId: string): Promise<void> {
    this.disconnectGateway(gatewayId);
  }

  private configureAccounts(): void {
    const random = this.opts.randomBytes ?? nodeRandomBytes;
    const username = this.opts.serviceAccount?.username ?? '_registry';
    const password = this.opts.serviceAccount?.password ?? random(32).toString('base64url');
    this.service = { username, password };
    this.accounts = new AccountTable([{ username, password, role: 'service' }, ...(this.opts.accounts ?? [])]);
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Principal> {
    const clientId = client.id;
    const address = this.remote(client).remoteAddress ?? 'unknown';
    const limiter = this.opts.loginLimiter;
    if (limiter && limiter.peek(address) > 0) {
      this.counters.connectDenied++;
      this.log.warn({ remoteAddress: address, clientId }, 'mqtt login refused: too many failed logins from this address');
      throw Object.assign(new Error('too many failed logins'), { returnCode: NOT_AUTHORIZED });
    }
    const refuse = (returnCode: number, reason: string, actor: string): Error => {
      if (returnCode === BAD_USERNAME_OR_PASSWORD) limiter?.hit(address);
      this.counters.connectDenied++;
      this.deny({ action: 'mqtt.connect.denied', actor, at: this.now(), details: { reason, clientId, ...(username ? { username } : {}), ...this.remote(client) } });
      return Object.assign(new Error(reason), { returnCode });
    };
    if (!username) throw refuse(BAD_USERNAME_OR_PASSWORD, 'no username', 'unknown');
    const pw = password?.toString('utf8') ?? '';
    const role = this.accounts.role(username);
    if (role) {
      const principal: Principal = { kind: 'account', username, role };
      const actor = principalName(principal);
      if (!this.accounts.passwordMatches(username, pw)) throw refuse(BAD_USERNAME_OR_PASSWORD, 'wrong password', actor);
      if (!clientIdAllowed(principal, clientId)) throw refuse(IDENTIFIER_REJECTED, `client id must be "${username}" or start with "${username}-"`, actor);
      return principal;
    }
    if (!isValidGatewayId(username)) throw refuse(BAD_USERNAME_OR_PASSWORD, 'unknown user', 'unknown');
    const principal: Principal = { kind: 'gateway', gatewayId: username };
    const actor = principalName(principal);
    if (!clientIdAllowed(principal, clientId)) throw refuse(IDENTIFIER_REJECTED, 'client id must equal the gateway id', actor);
    let ok: boolean;
    try {
      ok = await this.opts.credentials.verifyGatewayPassword(username, pw);
    } catch (err) {
      this.log.error({ err: (err as Error).message, gatewayId: username }, 'credential store failed; refusing the connection');
      throw Object.assign(new Error('credential store unavailable'), { returnCode: SERVER_UNAVAILABLE });
    }
    if (!ok) throw refuse(BAD_USERNAME_OR_PASSWORD, 'wrong password or unknown gateway', actor);
    return principal;
  }

  private authorizePublish(client: Client | null, packet: PublishPacket): Error | null {
    // client is null only for a will left by a session that is gone: bind it to the will's client id.
    const willOwner = (packet as PublishPacket & { clientId?: string }).clientId;
    const principal: Principal | undefined = client ? this.principals.get(client) : willOwner && isValidGatewayId(willOwner) ? { kind: 'gateway', gatewayId: willOwner } : undefined;
    const decision: AclDecision = principal ? mayPublish(principal, packet.topic, this.prefix) : { allow: false, reason: 'not authenticated' };
    if (decision.allow) return null;
    this.counters.publishDenied++;
    this.deny({ action: 'mqtt.publish.denied', actor: principal ? principalName(principal) : 'unknown', at: this.now(), details: { reason: decision.reason, topic: packet.topic, ...(client ? { clientId: client.id, ...this.remote(client) } : {}) } });
    return new Error(`publish to ${packet.topic} denied: ${decision.reason}`);
  }

  private authorizeSubscribe(client: Client, sub: Subscription): Subscription | null {
    const principal = this.principals.get(client);
    let decision: AclDecision = principal ? maySubscribe(principal, sub.topic, this.prefix) : { allow: false, reason: 'not authenticated' };
    if (decision.allow && sub.topic.startsWith('$share/')) decision = { allow: false, reason: 'the embedded broker has no shared subscriptions; subscribe without $share' };
    if (decision.allow) return sub;
    this.counters.subscribeDenied++;
    this.deny({ action: 'mqtt.subscribe.denied', actor: principal ? principalName(principal) : 'unknown', at: this.now(), details: { reason: decision.reason, topic: sub.topic, clientId: client.id, ...this.remote(client) } });
    return null;
  }

  private deny(event: BrokerAuditEvent): void {
    this.log.warn({ action: event.action, actor: event.actor, ...event.details }, 'mqtt access denied');
    Promise.resolve()
      .then(() => this.opts.audit(event))
      .catch((err: unknown) => this.log.error({ err: (err as Error).message, action: event.action }, 'audit write failed'));
  }

  private remote(client: Client): { remoteAddress?: string } {
    const addr = (client.conn as Partial<Socket>).remoteAddress;
    return addr ? { remoteAddress: addr } : {};
  }

  private track(client: Client, connected: boolean): void {
    const principal = this.principals.get(client);
    if (!principal) return;
    const key = principalName(principal);
    let set = this.live.get(key);
    if (connected) {
      if (!set) this.live.set(key, (set = new Set()));
      set.add(client);
      this.log.debug({ actor: key, clientId: client.id }, 'client connected');
    } else if (set) {
      set.delete(client);
      if (set.size === 0) this.live.delete(key);
    }
  }
}
