import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type AppHttpOptions } from './app.js';
import type { Clock } from './clock.js';
import { openStore, type RegistryStore } from './db/store.js';
import { loadOrCreateSecretKey } from './security/secret-box.js';
import { loadOrCreateSigningKey, type SigningKey } from './security/signing-key.js';
import { HttpOnlyPublisher, type BrokerIdentity, type BrokerInfo, type CommandPublisher, type ConfigPublisher } from './service/ports.js';
import { createServices, type RegistryServices } from './service/registry-services.js';

export interface OpenRegistryOptions extends AppHttpOptions {
  /** Keys (config-signing-key.pem, secrets.key) and, without databaseUrl, registry.db live here. */
  dataDir: string;
  /** postgres://user@host:port/db for PostgreSQL; SQLite in dataDir when absent. */
  databaseUrl?: string;
  brokerInfo: BrokerInfo;
  logger: Logger;
  /** How configurations reach gateways; default: HTTP fetch only (nothing published). */
  publisher?: ConfigPublisher;
  /** How commands reach gateways; default: none (they stay pending and expire). */
  commandPublisher?: CommandPublisher;
  brokerIdentity?: BrokerIdentity;
  /** Fleet-wide settings every composed configuration starts from. */
  documentDefaults?: Record<string, unknown>;
  /** REGISTRY_ADMIN_TOKEN: an admin token to accept (created if new). */
  adminToken?: string;
  /** --admin-user and CITYEDGE_ADMIN_PASSWORD: a console admin account created when missing. */
  adminAccount?: { username: string; password: string };
  clock?: Clock;
}

export interface OpenedRegistry {
  store: RegistryStore;
  services: RegistryServices;
  app: FastifyInstance;
  signingKey: SigningKey;
  /** A bootstrap admin token created on this start (first start without REGISTRY_ADMIN_TOKEN): print it once. */
  bootstrapToken: string | undefined;
  /** Closes the HTTP server (if listening) and the store. */
  close(): Promise<void>;
}

/** Opens storage (migrating it), loads or creates the keys, builds services and app; does not listen. */
export async function openRegistry(o: OpenRegistryOptions): Promise<OpenedRegistry> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const signingKey = loadOrCreateSigningKey(o.dataDir);
  const secretKey = loadOrCreateSecretKey(o.dataDir);
  const store = await openStore({ dataDir: o.dataDir, ...(o.databaseUrl !== undefined && { databaseUrl: o.databaseUrl }) });
  try {
    const services = createServices({
      store,
      signingKey,
      secretKey,
      publisher: o.publisher ?? new HttpOnlyPublisher(),
      ...(o.commandPublisher && { commandPublisher: o.commandPublisher }),
      brokerInfo: o.brokerInfo,
      logger: o.logger,
      ...(o.brokerIdentity && { brokerIdentity: o.brokerIdentity }),
      ...(o.documentDefaults && { documentDefaults: o.documentDefaults }),
      ...(o.clock && { clock: o.clock }),
    });
    const { token } = await services.tokens.ensureBootstrapAdmin(o.adminToken);
    if (o.adminAccount && (await services.accounts.ensureAdmin(o.adminAccount.username, o.adminAccount.password))) o.logger.info({ username: o.adminAccount.username }, 'created the console admin account');
    const app = buildApp({
      services,
      logger: o.logger,
      ...(o.enrollRateLimit && { enrollRateLimit: o.enrollRateLimit }),
      ...(o.publicUrl !== undefined && { publicUrl: o.publicUrl }),
      ...(o.trustProxy !== undefined && { trustProxy: o.trustProxy }),
      ...(o.bodyLimit !== undefined && { bodyLimit: o.bodyLimit }),
      ...(o.consoleDir !== undefined && { consoleDir: o.consoleDir }),
      ...(o.requestTimeoutMs !== undefined && { requestTimeoutMs: o.requestTimeoutMs }),
      ...(o.liveView && { liveView: o.liveView }),
    });
    if (signingKey.created) o.logger.info({ keyId: signingKey.keyId, dataDir: o.dataDir }, 'created the configuration signing key');
    o.logger.info({ keyId: signingKey.keyId, database: store.dialect }, 'registry opened');
    return {
      store,
      services,
      app,
      signingKey,
      bootstrapToken: token,
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Listens on host:port (port 0: an ephemeral one) and returns the base URL. */
export async function listen(app: FastifyInstance, at: { host: string; port: number }): Promise<string> {
  await app.listen({ host: at.host, port: at.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  return `http://${host}:${port}`;
}
