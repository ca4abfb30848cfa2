import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import type { RegistryStore } from '../db/store.js';
import { SecretBox } from '../security/secret-box.js';
import type { SigningKey } from '../security/signing-key.js';
import { AccountService, type AccountServiceOptions } from './account-service.js';
import { AlarmService } from './alarm-service.js';
import { AuditService } from './audit-service.js';
import { CameraService } from './camera-service.js';
import { CameraStatusService } from './camera-status-service.js';
import { CommandService, type CommandServiceOptions } from './command-service.js';
import { ConfigComposer } from './config-composer.js';
import { ConfigService } from './config-service.js';
import { Auditor, type ServiceDeps } from './context.js';
import { DeviceService } from './device-service.js';
import { EnrollmentService } from './enrollment-service.js';
import { EventHub } from './event-hub.js';
import { EventService } from './event-service.js';
import { FleetService } from './fleet-service.js';
import { GatewayCredentials } from './gateway-credentials.js';
import { GatewayService } from './gateway-service.js';
import { NoBrokerCommandPublisher, type BrokerIdentity, type BrokerInfo, type CommandPublisher, type ConfigPublisher } from './ports.js';
import { RolloutService } from './rollout-service.js';
import { RulesService } from './rules-service.js';
import { SiteService } from './site-service.js';
import { TelemetryFeed } from './telemetry-feed.js';
import { TokenService } from './token-service.js';

export interface RegistryServiceOptions {
  store: RegistryStore;
  signingKey: SigningKey;
  /** 32-byte key sealing camera passwords (loadOrCreateSecretKey(dataDir)). */
  secretKey: Buffer;
  publisher: ConfigPublisher;
  /** How commands reach gateways; default: none (they wait, pending, and expire). */
  commandPublisher?: CommandPublisher;
  /** Command lifetimes (default 60 s, at most 1 h) and how long an accepted one may run. */
  commandOptions?: CommandServiceOptions;
  brokerInfo: BrokerInfo;
  brokerIdentity?: BrokerIdentity;
  logger: Logger;
  clock?: Clock;
  /** Enrollment code lifetime, default 24 h. */
  codeTtlMs?: number;
  /** Extra public keys handed to gateways at enrollment (key rotation). */
  extraPublicKeys?: string[];
  /** Fleet-wide settings every composed configuration starts from (buffer, ota, http, log, cameras...). */
  documentDefaults?: Record<string, unknown>;
  /** Console sessions: idle and absolute lifetimes, lockout and sign-in rate limits. */
  accountOptions?: AccountServiceOptions;
}

/** The registry's logic, shared by the HTTP routes and the broker module's MQTT follower. */
export interface RegistryServices {
  store: RegistryStore;
  signingKey: SigningKey;
  brokerInfo: BrokerInfo;
  clock: Clock;
  sites: SiteService;
  gateways: GatewayService;
  enrollment: EnrollmentService;
  credentials: GatewayCredentials;
  devices: DeviceService;
  /** A gateway's rules (flood, air quality, lighting, derived readings), composed into its configuration. */
  rules: RulesService;
  cameras: CameraService;
  /** What gateways report about their cameras: state, inventory, thumbnails, discovered devices. */
  cameraStatus: CameraStatusService;
  composer: ConfigComposer;
  configs: ConfigService;
  rollouts: RolloutService;
  fleet: FleetService;
  tokens: TokenService;
  /** Console accounts (people with a password) and their sessions. */
  accounts: AccountService;
  audit: AuditService;
  /** Commands to gateways: signed, published, answered through events. */
  commands: CommandService;
  /** Alarms raised and cleared by gateways' events, acknowledged by people. */
  alarms: AlarmService;
  /** Events gateways send (the EventsSink of the events ingest). */
  events: EventService;
  /** Live changes for the console's event streams (GET /v1/stream). */
  hub: EventHub;
  /** The telemetry ingest's sink: stores readings, then feeds the streams of that gateway. */
  telemetry: TelemetryFeed;
}

export function createServices(o: RegistryServiceOptions): RegistryServices {
  const clock = o.clock ?? systemClock();
  const hub = new EventHub();
  const deps = (module: string): ServiceDeps => ({ clock, logger: o.logger.child({ module }), auditor: new Auditor(clock), hub });
  const composer = new ConfigComposer(o.brokerInfo, o.documentDefaults);
  const enrollment = new EnrollmentService(o.store, deps('enrollment'), {
    brokerInfo: o.brokerInfo,
    signingKey: o.signingKey,
    ...(o.brokerIdentity && { brokerIdentity: o.brokerIdentity }),
    ...(o.codeTtlMs !== undefined && { codeTtlMs: o.codeTtlMs }),
    ...(o.extraPublicKeys && { extraPublicKeys: o.extraPublicKeys }),
  });
  const configs = new ConfigService(o.store, deps('configs'), composer, o.signingKey, o.publisher);
  const rollouts = new RolloutService(o.store, deps('rollouts'), configs);
  const cameras = new CameraService(o.store, deps('cameras'), new SecretBox(o.secretKey));
  const commands = new CommandService(o.store, deps('commands'), o.signingKey, o.commandPublisher ?? new NoBrokerCommandPublisher(), o.commandOptions);
  const alarms = new AlarmService(o.store, deps('alarms'));
  return {
    store: o.store,
    signingKey: o.signingKey,
    brokerInfo: o.brokerInfo,
    clock,
    sites: new SiteService(o.store, deps('sites')),
    gateways: new GatewayService(o.store, deps('gateways'), enrollment, o.brokerIdentity),
    enrollment,
    credentials: new GatewayCredentials(o.store),
    devices: new DeviceService(o.store, deps('devices'), composer),
    rules: new RulesService(o.store, deps('rules'), composer),
    cameras,
    cameraStatus: new CameraStatusService(o.store, deps('camera-status'), cameras),
    composer,
    configs,
    rollouts,
    fleet: new FleetService(o.store, deps('fleet'), configs, rollouts),
    tokens: new TokenService(o.store, deps('tokens')),
    accounts: new AccountService(o.store, deps('accounts'), o.accountOptions),
    audit: new AuditService(o.store, deps('audit')),
    commands,
    alarms,
    events: new EventService(o.store, deps('events'), alarms, commands),
    hub,
    telemetry: new TelemetryFeed(o.store, hub, clock),
  };
}
