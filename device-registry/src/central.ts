import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DynsecClient } from './broker/dynsec-client.js';
import { MosquittoDynsec } from './broker/mosquitto-dynsec.js';
import type { SignedCommand, SignedConfig } from '@cityedge/contract';
import { EmbeddedBroker, type BrokerAccount } from './broker/embedded-broker.js';
import { MqttConfigPublisher } from './broker/config-publisher.js';
import type { MqttConnection } from './broker/mqtt-connection.js';
import type { BrokerAuditSink, GatewayCredentialStore } from './broker/ports.js';
import { RabbitmqAuthBackend } from './broker/rabbitmq-auth.js';
import { CameraFollower } from './ingest/camera-follower.js';
import { EventsIngest } from './ingest/events-ingest.js';
import type { LiveViewOptions } from './live/live-view.js';
import { FleetFollower } from './ingest/fleet-follower.js';
import { TelemetryIngest } from './ingest/telemetry-ingest.js';
import { INGEST_GROUP } from './ingest/worker.js';
import { listen, openRegistry, type OpenedRegistry } from './server.js';
import type { AccountServiceOptions } from './service/account-service.js';
import { redeliverOnReconnect } from './service/command-redelivery.js';
import { CommandSweeper } from './service/command-sweeper.js';
import { TelemetryRetention, type TelemetryRetentionOptions } from './service/telemetry-retention.js';
import type { BrokerIdentity, CommandPublisher, ConfigPublisher } from './service/ports.js';

export interface CentralOptions {
  dataDir: string;
  databaseUrl?: string;
  logger: Logger;
  http: { host: string; port: number };
  /** The broker gateways use: the embedded aedes broker (default) or an external one (Mosquitto, EMQX). */
  broker:
    | { mode: 'embedded'; host: string; port: number; accounts?: BrokerAccount[] }
    | {
        mode: 'external';
        url: string;
        service: MqttConnection;
        sharedGroup?: string;
        identity?: BrokerIdentity;
        /** Gateways keep persistent sessions (RabbitMQ: replicated subscription queues). */
        persistentSessions?: boolean;
        /** Called once the registry is open, before any MQTT connection: a broker that asks the registry (RabbitMQ's HTTP auth backend) gets its store here. */
        attach?: (core: { credentials: GatewayCredentialStore; audit: BrokerAuditSink }) => void;
      };
  /**
   * The broker URL told to gateways (enrollment, configurations): their view of it, e.g.
   * mqtts://broker.ioc.example.vn:8883. Default: the embedded broker's or the external URL.
   */
  brokerPublicUrl?: string;
  /** A broker cluster: every node's URL as gateways reach it; gateways get them as forwarding.brokerUrls. */
  brokerPublicUrls?: string[];
  /** Behind a reverse proxy: client addresses from X-Forwarded-For (rate limits, audit). */
  trustProxy?: boolean;
  topicPrefix?: string;
  publicUrl?: string;
  adminToken?: string;
  /** A console admin account created when missing (--admin-user, CITYEDGE_ADMIN_PASSWORD). */
  adminAccount?: { username: string; password: string };
  /** Console sessions: lifetimes, lockout, sign-in rate limit. */
  accountOptions?: AccountServiceOptions;
  /** Fleet-wide settings every composed configuration starts from. */
  documentDefaults?: Record<string, unknown>;
  /** Live view (ffmpeg path, limits); the relays start and stop with the HTTP server. */
  liveView?: LiveViewOptions;
  /** How often commands are expired and pending ones published again; default 5 s. */
  commandSweepIntervalMs?: number;
  /** PostgreSQL telemetry partitions: days created ahead, days kept (default: all). */
  telemetryPartitions?: TelemetryRetentionOptions;
}

export interface Central {
  registry: OpenedRegistry;
  /** The registry's HTTP base URL. */
  url: string;
  brokerUrl: string;
  broker: EmbeddedBroker | undefined;
  stop(): Promise<void>;
}

/** A publisher or identity bound once the broker exists (the broker needs the registry's credentials first). */
class Deferred<T extends object> {
  target: T | undefined;
  get(): T {
    if (!this.target) throw new Error('the broker is not connected yet');
    return this.target;
  }
}

/**
 * The central side on one machine: the registry (HTTP API, storage, keys), the broker gateways
 * connect to with their own identities, and the registry's MQTT followers (configuration
 * publisher, fleet status and reports, camera reports, telemetry and events ingest, the command
 * sweeper). Parts start in dependency order and stop in reverse.
 */
export async function startCentral(o: CentralOptions): Promise<Central> {
  const prefix = o.topicPrefix ?? 'edge/v1';
  const publisher = new Deferred<ConfigPublisher & CommandPublisher>();
  const identity = new Deferred<BrokerIdentity>();
  const core = new Deferred<OpenedRegistry>();
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => o.logger.warn({ err }, 'error while stopping'));
  };
  try {
    // The embedded broker starts first so its bound port is known; it asks the registry, once
    // open, whether a gateway's credentials are good.
    let broker: EmbeddedBroker | undefined;
    let service: (role: string) => MqttConnection & { clientId: string };
    let sharedGroup: string | undefined;
    let brokerUrl: string;
    let persistentSessions = false;
    if (o.broker.mode === 'embedded') {
      const b = new EmbeddedBroker({
        host: o.broker.host,
        port: o.broker.port,
        credentials: { verifyGatewayPassword: (gw, pw) => core.get().services.credentials.verifyGatewayPassword(gw, pw) },
        audit: (e) => core.target?.services.audit.recordExternal(e),
        logger: o.logger.child({ module: 'broker' }),
        prefix,
        ...(o.broker.accounts && { accounts: o.broker.accounts }),
      });
      await b.start();
      stops.push(() => b.stop());
      broker = b;
      identity.target = b;
      // Account client ids are bound to the account name: `<account>-<role of the connection>`.
      service = (role) => {
        const conn = b.serviceConnection();
        const clientId = `${conn.username}-${role}`;
        return { ...conn, clientId };
      };
      brokerUrl = o.brokerPublicUrl ?? b.url;
    } else {
      const ext = o.broker;
      if (ext.identity) identity.target = ext.identity;
      service = (role) => ({ ...ext.service, clientId: `${ext.service.username}-${role}` });
      sharedGroup = ext.sharedGroup;
      brokerUrl = o.brokerPublicUrl ?? ext.url;
      persistentSessions = ext.persistentSessions === true;
    }
    const registry = await openRegistry({
      dataDir: o.dataDir,
      ...(o.databaseUrl !== undefined && { databaseUrl: o.databaseUrl }),
      brokerInfo: { url: brokerUrl, topicPrefix: prefix, ...(o.brokerPublicUrls && { urls: o.brokerPublicUrls }), ...(persistentSessions && { persistentSessions }) },
      logger: o.logger,
      publisher: { publish: (gw: string, signed: SignedConfig) => publisher.get().publish(gw, signed) },
      commandPublisher: { publishCommand: (gw: string, signed: SignedCommand) => publisher.get().publishCommand(gw, signed) },
      brokerIdentity: {
        provisionGateway: (gw, pw) => identity.target?.provisionGateway(gw, pw) ?? Promise.resolve(),
        setGatewayPassword: (gw, pw) => identity.target?.setGatewayPassword(gw, pw) ?? Promise.resolve(),
        deprovisionGateway: (gw) => identity.target?.deprovisionGateway(gw) ?? Promise.resolve(),
      },
      ...(o.adminToken !== undefined && { adminToken: o.adminToken }),
      ...(o.adminAccount && { adminAccount: o.adminAccount }),
      ...(o.accountOptions && { accountOptions: o.accountOptions }),
      ...(o.publicUrl !== undefined && { publicUrl: o.publicUrl }),
      ...(o.documentDefaults && { documentDefaults: o.documentDefaults }),
      ...(o.liveView && { liveView: o.liveView }),
      ...(o.trustProxy !== undefined && { trustProxy: o.trustProxy }),
    });
    stops.push(() => registry.close());
    core.target = registry;
    const { services } = registry;
    if (o.broker.mode === 'external') o.broker.attach?.({ credentials: services.credentials, audit: (e) => services.audit.recordExternal(e) });
    const configs = new MqttConfigPublisher({ connection: service('config'), logger: o.logger.child({ module: 'config-publisher' }), prefix });
    await configs.start();
    stops.push(() => configs.stop());
    publisher.target = configs;
    const follower = new FleetFollower({ connection: service('fleet'), listener: redeliverOnReconnect(services.fleet, services.commands, services.store), logger: o.logger.child({ module: 'fleet' }), prefix });
    await follower.start();
    stops.push(() => follower.stop());
    const cameras = new CameraFollower({ connection: service('cameras'), listener: services.cameraStatus, logger: o.logger.child({ module: 'cameras' }), prefix });
    await cameras.start();
    stops.push(() => cameras.stop());
    const ingest = new TelemetryIngest({
      connection: service('ingest'),
      sink: services.telemetry,
      logger: o.logger.child({ module: 'ingest' }),
      prefix,
      ...(sharedGroup !== undefined && { sharedGroup }),
    });
    await ingest.start();
    stops.push(() => ingest.stop());
    registry.app.metrics.watchIngest(() => ingest.stats());
    if (broker) registry.app.metrics.watchBroker(() => broker.stats());
    const events = new EventsIngest({
      connection: service('events'),
      sink: services.events,
      logger: o.logger.child({ module: 'events-ingest' }),
      prefix,
      ...(sharedGroup !== undefined && { sharedGroup }),
    });
    await events.start();
    stops.push(() => events.stop());
    if (services.store.dialect === 'postgres') {
      const retention = new TelemetryRetention(services.store.telemetry, o.logger.child({ module: 'telemetry-partitions' }), o.telemetryPartitions);
      retention.start();
      stops.push(() => retention.stop());
    }
    const sweeper = new CommandSweeper(services.commands, o.logger.child({ module: 'command-sweeper' }), o.commandSweepIntervalMs);
    sweeper.start();
    stops.push(() => sweeper.stop());
    // An in-memory broker forgets retained messages when it restarts: deliver every gateway's newest again.
    await services.configs.republishAll();
    const url = await listen(registry.app, o.http);
    return { registry, url, brokerUrl, broker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Mosquitto mode: as the dynamic-security admin, deny by default and ensure the registry's own
 * service account (its password kept in the data directory, mode 0600); gateways are then
 * provisioned one role and client each as they enroll.
 */
export async function connectMosquitto(o: {
  url: string;
  admin: string;
  adminPassword: string;
  dataDir: string;
  topicPrefix?: string;
  logger: Logger;
}): Promise<Extract<CentralOptions['broker'], { mode: 'external' }> & { dynsec: MosquittoDynsec; close: () => Promise<void> }> {
  const admin = new DynsecClient({ connection: { url: o.url, username: o.admin, password: o.adminPassword, clientId: `${o.admin}-registry`, protocolVersion: 5 }, logger: o.logger });
  await admin.start();
  const dynsec = new MosquittoDynsec({ transport: admin, logger: o.logger, ...(o.topicPrefix !== undefined && { prefix: o.topicPrefix }) });
  await dynsec.ensureDefaults();
  const password = serviceSecret(o.dataDir);
  await dynsec.ensureAccount('_registry', password, 'service');
  return {
    mode: 'external',
    url: o.url,
    service: { url: o.url, username: '_registry', password, protocolVersion: 5 },
    sharedGroup: INGEST_GROUP,
    identity: dynsec,
    dynsec,
    close: () => admin.stop(),
  };
}

/**
 * RabbitMQ mode (the province cluster): the registry answers the cluster's HTTP auth backend
 * (rabbitmq-auth.ts) on its own listener, and logs in to the cluster as its service account
 * `_registry` (password kept in the data directory, mode 0600) with MQTT 3.1.1. Gateways need no
 * provisioning: every uncached login asks the registry's store. RabbitMQ 3.10 has no shared
 * subscriptions: the registry's in-process ingest subscribes plainly; scale-out ingest workers
 * consume the replicated ingest queue over AMQP (rabbitmq-topology.ts).
 */
export async function connectRabbitmq(o: {
  url: string;
  /** The cluster's other nodes: the registry's own MQTT sessions move to the next one after a lost connection. */
  otherUrls?: readonly string[];
  dataDir: string;
  topicPrefix?: string;
  logger: Logger;
  /** The auth endpoints' listener: default 127.0.0.1 and any free port. */
  auth?: { host?: string; port?: number; secret?: string };
  /** Further accounts (consumers, more service clients). */
  accounts?: BrokerAccount[];
}): Promise<Extract<CentralOptions['broker'], { mode: 'external' }> & { auth: RabbitmqAuthBackend; close: () => Promise<void> }> {
  const password = serviceSecret(o.dataDir);
  const late: { credentials?: GatewayCredentialStore; audit?: BrokerAuditSink } = {};
  const auth = new RabbitmqAuthBackend({
    credentials: { verifyGatewayPassword: (gw, pw) => (late.credentials ? late.credentials.verifyGatewayPassword(gw, pw) : Promise.reject(new Error('the registry is not open yet'))) },
    audit: (e) => late.audit?.(e),
    logger: o.logger,
    accounts: [{ username: '_registry', password, role: 'service' }, ...(o.accounts ?? [])],
    ...(o.topicPrefix !== undefined && { prefix: o.topicPrefix }),
    ...(o.auth?.host !== undefined && { host: o.auth.host }),
    ...(o.auth?.port !== undefined && { port: o.auth.port }),
    ...(o.auth?.secret !== undefined && { secret: o.auth.secret }),
  });
  await auth.start();
  return {
    mode: 'external',
    url: o.url,
    service: { url: o.url, ...(o.otherUrls?.length && { otherUrls: o.otherUrls }), username: '_registry', password, protocolVersion: 4 },
    identity: auth,
    persistentSessions: true,
    attach: (core) => {
      late.credentials = core.credentials;
      late.audit = core.audit;
    },
    auth,
    close: () => auth.stop(),
  };
}

/** The registry's own broker password (service account `_registry`): made once, kept in the data directory (0600). */
function serviceSecret(dataDir: string): string {
  const secretPath = join(dataDir, 'mqtt-service.secret');
  if (!existsSync(secretPath)) writeFileSync(secretPath, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  return readFileSync(secretPath, 'utf8').trim();
}
