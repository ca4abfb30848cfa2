import { parseArgs } from 'node:util';
import { DEFAULT_TOPIC_PREFIX } from '@cityedge/contract';

export const USAGE = `usage: cityedge-registry [options]

options:
  --data-dir <dir>        keys and the SQLite database   [$STATE_DIRECTORY or /var/lib/cityedge-registry]
  --database-url <url>    PostgreSQL instead of SQLite, e.g. postgres://registry@db:5432/registry  [$REGISTRY_DATABASE_URL]
  --host <addr>           address to listen on           [127.0.0.1]
  --port <n>              port to listen on (0: any)     [8780]
  --broker-url <url>      broker URL gateways connect to [mqtt://127.0.0.1:1883]
  --topic-prefix <p>      MQTT topic prefix              [${DEFAULT_TOPIC_PREFIX}]
  --public-url <url>      the registry's URL as gateways reach it (default: from the Host header)
  --trust-proxy           behind a reverse proxy: take the client address from X-Forwarded-For
  --log-level <level>     fatal, error, warn, info, debug, trace  [info]
  -h, --help

environment:
  REGISTRY_ADMIN_TOKEN    an admin API token to accept (at least 20 characters); without it a
                          bootstrap admin token is created and printed once on the first start`;

export interface RegistryCliOptions {
  dataDir: string;
  databaseUrl: string | undefined;
  host: string;
  port: number;
  brokerUrl: string;
  topicPrefix: string;
  publicUrl: string | undefined;
  trustProxy: boolean;
  logLevel: string;
  adminToken: string | undefined;
}

export type CliResult = { ok: true; help: true } | { ok: true; help: false; options: RegistryCliOptions } | { ok: false; message: string };

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** Parses the command line; every problem is a message naming the flag (exit code 2). */
export function parseRegistryArgs(argv: string[], env: NodeJS.ProcessEnv): CliResult {
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
        'broker-url': { type: 'string', default: 'mqtt://127.0.0.1:1883' },
        'topic-prefix': { type: 'string', default: DEFAULT_TOPIC_PREFIX },
        'public-url': { type: 'string' },
        'trust-proxy': { type: 'boolean', default: false },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  if (values.help) return { ok: true, help: true };
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) return { ok: false, message: `--port: expected 0..65535, got "${values.port}"` };
  if (!/^(mqtts?|wss?):\/\/[^\s/]+/.test(values['broker-url'])) return { ok: false, message: `--broker-url: expected mqtt://, mqtts://, ws:// or wss:// URL, got "${values['broker-url']}"` };
  const databaseUrl = values['database-url'] ?? env.REGISTRY_DATABASE_URL;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) return { ok: false, message: '--database-url: expected postgres://user@host:port/database' };
  const publicUrl = values['public-url'];
  if (publicUrl !== undefined && !/^https?:\/\/\S+$/.test(publicUrl)) return { ok: false, message: `--public-url: expected an http:// or https:// URL, got "${publicUrl}"` };
  if (!/^[^#+\s]+[^/#+\s]$/.test(values['topic-prefix'])) return { ok: false, message: '--topic-prefix: expected a topic prefix without wildcards, spaces or a trailing "/"' };
  if (!LEVELS.includes(values['log-level'])) return { ok: false, message: `--log-level: expected one of ${LEVELS.join(', ')}` };
  const adminToken = env.REGISTRY_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 20) return { ok: false, message: 'REGISTRY_ADMIN_TOKEN: must be at least 20 characters' };
  const dataDir = values['data-dir'] ?? env.STATE_DIRECTORY?.split(':')[0] ?? '/var/lib/cityedge-registry';
  return {
    ok: true,
    help: false,
    options: {
      dataDir,
      databaseUrl,
      host: values.host,
      port,
      brokerUrl: values['broker-url'],
      topicPrefix: values['topic-prefix'],
      publicUrl,
      trustProxy: values['trust-proxy'],
      logLevel: values['log-level'],
      adminToken,
    },
  };
}
