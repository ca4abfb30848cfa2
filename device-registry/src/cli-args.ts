import { parseArgs } from 'node:util';
import { chooseLogFormat, DEFAULT_TOPIC_PREFIX, type LogFormat } from '@cityedge/contract';

export const USAGE = `usage: cityedge-registry [options]

options:
  --data-dir <dir>        keys and the SQLite database   [$STATE_DIRECTORY or /var/lib/cityedge-registry]
  --database-url <url>    PostgreSQL instead of SQLite, e.g. postgres://registry@db:5432/registry  [$REGISTRY_DATABASE_URL]
  --host <addr>           address to listen on           [127.0.0.1]
  --port <n>              port to listen on (0: any)     [8780]
  --broker <mode>         embedded (aedes in this process), mosquitto (dynamic security) or rabbitmq
                          (a RabbitMQ cluster asking this registry through its HTTP auth backend)  [embedded]
  --mqtt-host <addr>      embedded broker: address to listen on  [127.0.0.1]
  --mqtt-port <n>         embedded broker: port to listen on     [1883]
  --broker-url <url>      mosquitto, rabbitmq: where the registry connects (required; an internal address such as
                          mqtt://mosquitto:1883); rabbitmq: every node's URL, comma-separated, and the registry's
                          own sessions move to the next node after a lost connection. embedded: the default of
                          --gateway-broker-url
  --gateway-broker-url <url>  the broker URL gateways are told at enrollment and in their configuration:
                          its public name, e.g. mqtts://broker.ioc.example.vn:8883; for a cluster, every
                          node's URL, comma-separated (gateways fail over through them)
                          [$REGISTRY_GATEWAY_BROKER_URL, else --broker-url, else mqtt://<mqtt-host>:<mqtt-port>]
  --dynsec-admin <user>   mosquitto: the dynamic-security admin (mosquitto_ctrl dynsec init)  [admin]
  --rabbitmq-auth-host <addr>  rabbitmq: where the HTTP auth endpoints listen (the brokers' side only)  [127.0.0.1]
  --rabbitmq-auth-port <n>     rabbitmq: their port  [8781]
  --topic-prefix <p>      MQTT topic prefix              [${DEFAULT_TOPIC_PREFIX}]
  --public-url <url>      the registry's URL as gateways reach it (default: from the Host header)
  --admin-user <name>     create this console admin account on start if it does not exist, with the
                          password in $CITYEDGE_ADMIN_PASSWORD (an existing account is left as it is)
  --trust-proxy           behind a reverse proxy: take the client address from X-Forwarded-For
  --telemetry-retention-days <n>  PostgreSQL: drop telemetry day partitions older than n days  [keep all]
  --partition-ahead-days <n>      PostgreSQL: create telemetry day partitions n days ahead  [7]
  --log-level <level>     fatal, error, warn, info, debug, trace  [info]
  --log-format <f>        json or pretty  [pretty on a terminal, json under systemd; $CITYEDGE_LOG_FORMAT]
  -h, --help

cityedge-registry ingest --help: a telemetry ingest worker (PostgreSQL; run several)

environment:
  REGISTRY_DATABASE_URL   as --database-url
  REGISTRY_GATEWAY_BROKER_URL  as --gateway-broker-url
  DYNSEC_ADMIN_PASSWORD   mosquitto: the dynamic-security admin's password
  RABBITMQ_AUTH_SECRET    rabbitmq: a shared secret in the auth endpoints' path (required when
                          --rabbitmq-auth-host is not a loopback address)
  REGISTRY_ADMIN_TOKEN    an admin API token to accept (at least 20 characters); without it a
                          bootstrap admin token is created and printed once on the first start
  CITYEDGE_ADMIN_PASSWORD the password of --admin-user (at least 8 characters)`;

export interface RegistryCliOptions {
  dataDir: string;
  databaseUrl: string | undefined;
  host: string;
  port: number;
  broker: 'embedded' | 'mosquitto' | 'rabbitmq';
  mqttHost: string;
  mqttPort: number;
  /** Mosquitto, RabbitMQ: where the registry connects. Embedded: the default of gatewayBrokerUrl. */
  brokerUrl: string | undefined;
  /** RabbitMQ: the cluster's other nodes (the rest of --broker-url's list). */
  brokerOtherUrls: string[] | undefined;
  /** Told to gateways (enrollment, configurations); undefined: brokerUrl, else the embedded broker's own address. */
  gatewayBrokerUrl: string | undefined;
  /** Every URL of --gateway-broker-url when it lists several (a cluster). */
  gatewayBrokerUrls: string[] | undefined;
  dynsecAdmin: string;
  rabbitmqAuth: { host: string; port: number; secret: string | undefined };
  dynsecPassword: string | undefined;
  topicPrefix: string;
  publicUrl: string | undefined;
  trustProxy: boolean;
  logLevel: string;
  logFormat: LogFormat;
  adminToken: string | undefined;
  /** --admin-user with CITYEDGE_ADMIN_PASSWORD: a console admin account ensured at start. */
  adminAccount: { username: string; password: string } | undefined;
  telemetryRetentionDays: number | undefined;
  partitionAheadDays: number;
}

export type CliResult = { ok: true; help: true } | { ok: true; help: false; options: RegistryCliOptions } | { ok: false; message: string };

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** Flags the registry and its ingest worker share (parseArgs options). */
export const SHARED_FLAGS = {
  'topic-prefix': { type: 'string', default: DEFAULT_TOPIC_PREFIX },
  'log-level': { type: 'string', default: 'info' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Checks the shared flags: the topic prefix and logging, or the message naming the bad one. */
export function checkSharedFlags(
  values: { 'topic-prefix': string; 'log-level': string; 'log-format'?: string | undefined },
  env: NodeJS.ProcessEnv,
  stdoutIsTTY: boolean,
): { ok: true; topicPrefix: string; logLevel: string; logFormat: LogFormat } | { ok: false; message: string } {
  if (!/^[^#+\s]+[^/#+\s]$/.test(values['topic-prefix'])) return { ok: false, message: '--topic-prefix: expected a topic prefix without wildcards, spaces or a trailing "/"' };
  if (!LEVELS.includes(values['log-level'])) return { ok: false, message: `--log-level: expected one of ${LEVELS.join(', ')}` };
  const logFormat = chooseLogFormat({ flag: values['log-format'], env, stdoutIsTTY });
  if (!logFormat.ok) return { ok: false, message: logFormat.message };
  return { ok: true, topicPrefix: values['topic-prefix'], logLevel: values['log-level'], logFormat: logFormat.format };
}

/** An MQTT broker URL as the registry and gateways take it (the path, if any, is not used). */
export const MQTT_URL = /^(mqtts?|wss?):\/\/[^\s/]+/;

/** A comma-separated list of MQTT URLs (one or a cluster's nodes); a string is the problem, naming `source`. */
function mqttUrlList(source: string, text: string | undefined): string[] | undefined | string {
  const urls = text?.split(',').map((u) => u.trim());
  const bad = urls?.find((u) => !MQTT_URL.test(u));
  return bad === undefined ? urls : `${source}: expected mqtt://, mqtts://, ws:// or wss:// URL, got "${bad}"`;
}

/** Parses the command line; every problem is a message naming the flag (exit code 2). */
export function parseRegistryArgs(argv: string[], env: NodeJS.ProcessEnv, stdoutIsTTY = false): CliResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8780' },
        broker: { type: 'string', default: 'embedded' },
        'mqtt-host': { type: 'string', default: '127.0.0.1' },
        'mqtt-port': { type: 'string', default: '1883' },
        'broker-url': { type: 'string' },
        'gateway-broker-url': { type: 'string' },
        'dynsec-admin': { type: 'string', default: 'admin' },
        'rabbitmq-auth-host': { type: 'string', default: '127.0.0.1' },
        'rabbitmq-auth-port': { type: 'string', default: '8781' },
        'public-url': { type: 'string' },
        'trust-proxy': { type: 'boolean', default: false },
        'admin-user': { type: 'string' },
        'telemetry-retention-days': { type: 'string' },
        'partition-ahead-days': { type: 'string', default: '7' },
        ...SHARED_FLAGS,
      },
    }));
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  if (values.help) return { ok: true, help: true };
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) return { ok: false, message: `--port: expected 0..65535, got "${values.port}"` };
  if (values.broker !== 'embedded' && values.broker !== 'mosquitto' && values.broker !== 'rabbitmq') return { ok: false, message: `--broker: expected embedded, mosquitto or rabbitmq, got "${values.broker}"` };
  const mqttPort = Number(values['mqtt-port']);
  if (!/^\d+$/.test(values['mqtt-port']) || mqttPort > 65535) return { ok: false, message: `--mqtt-port: expected 0..65535, got "${values['mqtt-port']}"` };
  const brokerUrls = mqttUrlList('--broker-url', values['broker-url']);
  if (typeof brokerUrls === 'string') return { ok: false, message: brokerUrls };
  if (brokerUrls && brokerUrls.length > 1 && values.broker !== 'rabbitmq') return { ok: false, message: `--broker-url: several URLs are for a cluster (--broker rabbitmq); --broker ${values.broker} takes one` };
  const brokerUrl = brokerUrls?.[0];
  const fromEnv = values['gateway-broker-url'] === undefined && env.REGISTRY_GATEWAY_BROKER_URL !== undefined && env.REGISTRY_GATEWAY_BROKER_URL !== '';
  const gatewayBrokerUrls = mqttUrlList(fromEnv ? 'REGISTRY_GATEWAY_BROKER_URL' : '--gateway-broker-url', values['gateway-broker-url'] ?? (fromEnv ? env.REGISTRY_GATEWAY_BROKER_URL : undefined));
  if (typeof gatewayBrokerUrls === 'string') return { ok: false, message: gatewayBrokerUrls };
  const gatewayBrokerUrl = gatewayBrokerUrls?.[0];
  // A cluster's gateways are told every node: the registry's own list unless told otherwise.
  const toldGateways = gatewayBrokerUrls ?? brokerUrls;
  if (values.broker !== 'embedded' && brokerUrl === undefined) return { ok: false, message: `--broker-url: required with --broker ${values.broker} (where ${values.broker === 'mosquitto' ? 'Mosquitto' : 'a RabbitMQ node'} listens)` };
  const rabbitPort = Number(values['rabbitmq-auth-port']);
  if (!/^\d+$/.test(values['rabbitmq-auth-port']) || rabbitPort > 65535) return { ok: false, message: `--rabbitmq-auth-port: expected 0..65535, got "${values['rabbitmq-auth-port']}"` };
  const rabbitSecret = env.RABBITMQ_AUTH_SECRET || undefined;
  if (values.broker === 'rabbitmq' && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(values['rabbitmq-auth-host']) && rabbitSecret === undefined) {
    return { ok: false, message: 'RABBITMQ_AUTH_SECRET: required when --rabbitmq-auth-host is not a loopback address' };
  }
  if (rabbitSecret !== undefined && !/^[A-Za-z0-9_-]{16,}$/.test(rabbitSecret)) return { ok: false, message: 'RABBITMQ_AUTH_SECRET: expected at least 16 letters, digits, "-" or "_"' };
  const dynsecPassword = env.DYNSEC_ADMIN_PASSWORD || undefined;
  if (values.broker === 'mosquitto' && dynsecPassword === undefined) return { ok: false, message: 'DYNSEC_ADMIN_PASSWORD: required with --broker mosquitto' };
  const databaseUrl = values['database-url'] ?? env.REGISTRY_DATABASE_URL;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) return { ok: false, message: '--database-url: expected postgres://user@host:port/database' };
  const publicUrl = values['public-url'];
  if (publicUrl !== undefined && !/^https?:\/\/\S+$/.test(publicUrl)) return { ok: false, message: `--public-url: expected an http:// or https:// URL, got "${publicUrl}"` };
  const shared = checkSharedFlags(values, env, stdoutIsTTY);
  if (!shared.ok) return shared;
  const adminToken = env.REGISTRY_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 20) return { ok: false, message: 'REGISTRY_ADMIN_TOKEN: must be at least 20 characters' };
  const adminUser = values['admin-user'];
  const adminPassword = env.CITYEDGE_ADMIN_PASSWORD || undefined;
  if (adminUser !== undefined && !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(adminUser)) return { ok: false, message: `--admin-user: expected lowercase letters, digits, '.', '_' or '-' (at most 64), got "${adminUser}"` };
  if (adminUser !== undefined && (adminPassword === undefined || adminPassword.length < 8)) return { ok: false, message: 'CITYEDGE_ADMIN_PASSWORD: required with --admin-user, at least 8 characters' };
  const retention = values['telemetry-retention-days'];
  if (retention !== undefined && !/^\d{1,5}$/.test(retention)) return { ok: false, message: `--telemetry-retention-days: expected whole days 0..99999, got "${retention}"` };
  const ahead = values['partition-ahead-days'];
  if (!/^\d{1,3}$/.test(ahead)) return { ok: false, message: `--partition-ahead-days: expected whole days 0..999, got "${ahead}"` };
  const dataDir = values['data-dir'] ?? env.STATE_DIRECTORY?.split(':')[0] ?? '/var/lib/cityedge-registry';
  return {
    ok: true,
    help: false,
    options: {
      dataDir,
      databaseUrl,
      host: values.host,
      port,
      broker: values.broker,
      mqttHost: values['mqtt-host'],
      mqttPort,
      brokerUrl,
      brokerOtherUrls: brokerUrls && brokerUrls.length > 1 ? brokerUrls.slice(1) : undefined,
      gatewayBrokerUrl: gatewayBrokerUrl ?? brokerUrl,
      gatewayBrokerUrls: toldGateways && toldGateways.length > 1 ? toldGateways : undefined,
      dynsecAdmin: values['dynsec-admin'],
      rabbitmqAuth: { host: values['rabbitmq-auth-host'], port: rabbitPort, secret: rabbitSecret },
      dynsecPassword,
      topicPrefix: shared.topicPrefix,
      publicUrl,
      trustProxy: values['trust-proxy'],
      logLevel: shared.logLevel,
      logFormat: shared.logFormat,
      adminToken,
      adminAccount: adminUser === undefined ? undefined : { username: adminUser, password: adminPassword! },
      telemetryRetentionDays: retention === undefined ? undefined : Number(retention),
      partitionAheadDays: Number(ahead),
    },
  };
}
