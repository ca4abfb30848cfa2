import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { generateSigningKey, type SignedCommand, type SignedConfig } from '@cityedge/contract';
import { buildApp } from '../app.js';
import { ManualClock } from '../clock.js';
import type { RegistryStore } from '../db/store.js';
import type { LiveViewOptions } from '../live/live-view.js';
import type { RateLimit } from '../security/rate-limiter.js';
import type { AccountServiceOptions } from '../service/account-service.js';
import { signingKeyFromPem, type SigningKey } from '../security/signing-key.js';
import { SYSTEM } from '../service/context.js';
import type { BrokerIdentity, CommandPublisher, ConfigPublisher } from '../service/ports.js';
import { createServices, type RegistryServices } from '../service/registry-services.js';

/** The in-memory end of the registry's own ConfigPublisher port: records what would be published. */
export class RecordingPublisher implements ConfigPublisher {
  readonly published: Array<{ gatewayId: string; signed: SignedConfig }> = [];
  failing = false;

  publish(gatewayId: string, signed: SignedConfig): Promise<void> {
    if (this.failing) return Promise.reject(new Error('broker connection lost'));
    this.published.push({ gatewayId, signed });
    return Promise.resolve();
  }

  to(gatewayId: string): SignedConfig[] {
    return this.published.filter((p) => p.gatewayId === gatewayId).map((p) => p.signed);
  }
}

/** The in-memory end of the CommandPublisher port: records the commands the broker would have taken. */
export class RecordingCommandPublisher implements CommandPublisher {
  readonly published: Array<{ gatewayId: string; signed: SignedCommand }> = [];
  failing = false;
  /** While set, a publish waits for it (a broker slow to acknowledge). */
  hold: Promise<void> | undefined;

  async publishCommand(gatewayId: string, signed: SignedCommand): Promise<void> {
    if (this.failing) throw new Error('broker connection lost');
    this.published.push({ gatewayId, signed });
    await this.hold;
  }

  to(gatewayId: string): SignedCommand[] {
    return this.published.filter((p) => p.gatewayId === gatewayId).map((p) => p.signed);
  }
}

/** Records the BrokerIdentity calls (the Mosquitto dynamic-security port). */
export class RecordingBrokerIdentity implements BrokerIdentity {
  readonly passwords = new Map<string, string>();
  readonly provisioned: string[] = [];
  readonly removed: string[] = [];
  /** Every password offered, also the refused ones. */
  readonly offered: string[] = [];
  failing = false;

  provisionGateway(gatewayId: string, password: string): Promise<void> {
    return this.setGatewayPassword(gatewayId, password).then(() => void this.provisioned.push(gatewayId));
  }

  setGatewayPassword(gatewayId: string, password: string): Promise<void> {
    this.offered.push(password);
    if (this.failing) return Promise.reject(new Error(`dynsec refused client ${gatewayId} with password ${password}`));
    this.passwords.set(gatewayId, password);
    return Promise.resolve();
  }

  deprovisionGateway(gatewayId: string): Promise<void> {
    this.removed.push(gatewayId);
    return Promise.resolve();
  }
}

export interface Call {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  remoteAddress?: string;
}

export interface TestRegistry {
  app: FastifyInstance;
  services: RegistryServices;
  store: RegistryStore;
  publisher: RecordingPublisher;
  commandPublisher: RecordingCommandPublisher;
  brokerIdentity: RecordingBrokerIdentity;
  clock: ManualClock;
  signingKey: SigningKey;
  /** Every log line the registry wrote (pino JSON), for asserting secrets never appear. */
  logs: string[];
  tokens: { admin: string; technician: string; viewer: string };
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, c?: Call): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export const TEST_BROKER_URL = 'mqtt://127.0.0.1:18830';

/** A registry over `store` with a manual clock, recording ports and a captured pino stream. */
export async function startTestRegistry(store: RegistryStore, opts: { enrollRateLimit?: RateLimit; liveView?: LiveViewOptions; accountOptions?: AccountServiceOptions; trustProxy?: boolean } = {}): Promise<TestRegistry> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  const clock = new ManualClock();
  const signingKey = signingKeyFromPem(generateSigningKey().privateKeyPem);
  const publisher = new RecordingPublisher();
  const brokerIdentity = new RecordingBrokerIdentity();
  const commandPublisher = new RecordingCommandPublisher();
  const services = createServices({ store, signingKey, secretKey: randomBytes(32), publisher, commandPublisher, brokerIdentity, brokerInfo: { url: TEST_BROKER_URL }, logger, clock, ...(opts.accountOptions && { accountOptions: opts.accountOptions }) });
  const app = buildApp({ services, logger, enrollRateLimit: opts.enrollRateLimit ?? { max: 1000, windowMs: 60_000 }, ...(opts.liveView && { liveView: opts.liveView }), ...(opts.trustProxy !== undefined && { trustProxy: opts.trustProxy }) });
  await app.ready();
  const admin = (await services.tokens.create({ name: 'admin-ines', role: 'admin' }, SYSTEM)).token;
  const technician = (await services.tokens.create({ name: 'tech-ana', role: 'technician' }, SYSTEM)).token;
  const viewer = (await services.tokens.create({ name: 'ops-viewer', role: 'viewer' }, SYSTEM)).token;
  return {
    app,
    services,
    store,
    publisher,
    commandPublisher,
    brokerIdentity,
    clock,
    signingKey,
    logs,
    tokens: { admin, technician, viewer },
    call: (method, url, c = {}) =>
      app.inject({
        method,
        url,
        headers: { ...(c.token !== undefined && { authorization: `Bearer ${c.token}` }), ...c.headers },
        ...(c.body !== undefined && { payload: c.body as string | object }),
        ...(c.remoteAddress !== undefined && { remoteAddress: c.remoteAddress }),
      }),
    close: () => app.close(),
  };
}
