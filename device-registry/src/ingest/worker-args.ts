import { parseArgs } from 'node:util';
import { DEFAULT_TOPIC_PREFIX, type LogFormat } from '@cityedge/contract';
import { checkSharedFlags, MQTT_URL, SHARED_FLAGS } from '../cli-args.js';
import { INGEST_GROUP } from './worker.js';

export const INGEST_USAGE = `usage: cityedge-registry ingest [options]

A telemetry ingest worker: consumes {prefix}/+/telemetry competitively with the other workers
(MQTT: a shared subscription beside the registry; AMQP: the RabbitMQ cluster's telemetry quorum
queue), stores each message once in PostgreSQL, and acknowledges it after the commit. Run as many
as the load needs, each with its own --worker-id.

options:
  --database-url <url>    PostgreSQL (required), e.g. postgres://registry@db:5432/registry
                          [$REGISTRY_DATABASE_URL]
  --source <s>            mqtt or amqp  [mqtt]
  --broker-url <url>      where the worker connects (required): mqtt://mosquitto:1883, or with
                          amqp the cluster's nodes, comma-separated: amqp://rabbit1:5672,amqp://...
  --worker-id <id>        stable name of this worker: letters, digits, '.', '_', '-' (required);
                          its broker session (unacknowledged messages) survives a restart under it
  --username <user>       the service account  [_registry]
  --mqtt-version <v>      5 (Mosquitto, EMQX) or 4 (MQTT 3.1.1 brokers)  [5]
  --shared-group <g>      shared-subscription group, "none" for a broker without $share
                          [${INGEST_GROUP}]
  --topic-prefix <p>      MQTT topic prefix              [${DEFAULT_TOPIC_PREFIX}]
  --stats-interval <s>    log the counters every s seconds (0: only at exit)  [60]
  --log-level <level>     fatal, error, warn, info, debug, trace  [info]
  --log-format <f>        json or pretty  [pretty on a terminal, else json; $CITYEDGE_LOG_FORMAT]
  -h, --help

environment:
  REGISTRY_DATABASE_URL   as --database-url
  REGISTRY_BROKER_PASSWORD  the service account's password (required; with Mosquitto the
                          registry keeps it in <data-dir>/mqtt-service.secret)`;

export interface IngestCliOptions {
  databaseUrl: string;
  source: 'mqtt' | 'amqp';
  brokerUrls: string[];
  workerId: string;
  username: string;
  password: string;
  protocolVersion: 4 | 5;
  sharedGroup: string | null;
  topicPrefix: string;
  statsIntervalSec: number;
  logLevel: string;
  logFormat: LogFormat;
}

export type IngestCliResult = { ok: true; help: true } | { ok: true; help: false; options: IngestCliOptions } | { ok: false; message: string };

/** Parses `cityedge-registry ingest …`; every problem is a message naming the flag (exit code 2). */
export function parseIngestArgs(argv: string[], env: NodeJS.ProcessEnv, stdoutIsTTY = false): IngestCliResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'database-url': { type: 'string' },
        source: { type: 'string', default: 'mqtt' },
        'broker-url': { type: 'string' },
        'worker-id': { type: 'string' },
        username: { type: 'string', default: '_registry' },
        'mqtt-version': { type: 'string', default: '5' },
        'shared-group': { type: 'string', default: INGEST_GROUP },
        'stats-interval': { type: 'string', default: '60' },
        ...SHARED_FLAGS,
      },
    }));
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  if (values.help) return { ok: true, help: true };
  const databaseUrl = values['database-url'] ?? env.REGISTRY_DATABASE_URL;
  if (databaseUrl === undefined || !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) return { ok: false, message: '--database-url: required, postgres://user@host:port/database (ingest workers need PostgreSQL)' };
  const source = values.source;
  if (source !== 'mqtt' && source !== 'amqp') return { ok: false, message: `--source: expected mqtt or amqp, got "${source}"` };
  const brokerUrls = values['broker-url']?.split(',') ?? [];
  const scheme = source === 'mqtt' ? MQTT_URL : /^amqps?:\/\/[^\s/]+/;
  if (brokerUrls.length === 0 || !brokerUrls.every((u) => scheme.test(u)) || (source === 'mqtt' && brokerUrls.length > 1)) {
    return { ok: false, message: source === 'mqtt' ? '--broker-url: required, one mqtt://, mqtts://, ws:// or wss:// URL' : '--broker-url: required, amqp:// or amqps:// URLs, comma-separated' };
  }
  const workerId = values['worker-id'];
  if (workerId === undefined || !/^[A-Za-z0-9._-]{1,64}$/.test(workerId)) return { ok: false, message: "--worker-id: required, 1-64 letters, digits, '.', '_' or '-'" };
  const password = env.REGISTRY_BROKER_PASSWORD || undefined;
  if (password === undefined) return { ok: false, message: 'REGISTRY_BROKER_PASSWORD: required (the service account password)' };
  const version = values['mqtt-version'];
  if (version !== '4' && version !== '5') return { ok: false, message: `--mqtt-version: expected 4 or 5, got "${version}"` };
  const group = values['shared-group'];
  if (group !== 'none' && !/^[^/+#\s]+$/.test(group)) return { ok: false, message: '--shared-group: expected a name without "/", "+", "#" or spaces, or "none"' };
  const stats = Number(values['stats-interval']);
  if (!/^\d{1,6}$/.test(values['stats-interval'])) return { ok: false, message: `--stats-interval: expected seconds 0..999999, got "${values['stats-interval']}"` };
  const shared = checkSharedFlags(values, env, stdoutIsTTY);
  if (!shared.ok) return shared;
  return {
    ok: true,
    help: false,
    options: {
      databaseUrl,
      source,
      brokerUrls,
      workerId,
      username: values.username,
      password,
      protocolVersion: version === '4' ? 4 : 5,
      sharedGroup: group === 'none' ? null : group,
      topicPrefix: shared.topicPrefix,
      statsIntervalSec: stats,
      logLevel: shared.logLevel,
      logFormat: shared.logFormat,
    },
  };
}
