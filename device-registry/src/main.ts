#!/usr/bin/env node
import { pino } from 'pino';
import { parseRegistryArgs, USAGE } from './cli-args.js';
import { listen, openRegistry } from './server.js';

/**
 * The registry's command line: opens storage and keys, serves the HTTP API. The broker (embedded
 * aedes or Mosquitto) is attached by the composition that includes the broker module; alone,
 * this serves configurations over HTTP only.
 * Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad usage.
 */
async function main(argv: string[]): Promise<number> {
  const parsed = parseRegistryArgs(argv, process.env);
  if (!parsed.ok) {
    process.stderr.write(`cityedge-registry: ${parsed.message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const o = parsed.options;
  const logger = pino({ level: o.logLevel, base: { service: 'registry' }, redact: { paths: ['req.headers.authorization', 'password', '*.password', 'token', '*.token'], censor: '[redacted]' } });
  let registry;
  try {
    registry = await openRegistry({
      dataDir: o.dataDir,
      ...(o.databaseUrl !== undefined && { databaseUrl: o.databaseUrl }),
      brokerInfo: { url: o.brokerUrl, topicPrefix: o.topicPrefix },
      logger,
      ...(o.adminToken !== undefined && { adminToken: o.adminToken }),
      ...(o.publicUrl !== undefined && { publicUrl: o.publicUrl }),
      ...(o.trustProxy && { trustProxy: true }),
    });
  } catch (err) {
    logger.fatal({ err }, 'registry could not open its storage or keys');
    return 1;
  }
  if (registry.bootstrapToken) {
    process.stdout.write(`\nBootstrap admin API token (shown once; store it now):\n\n  ${registry.bootstrapToken}\n\n`);
  }
  try {
    const url = await listen(registry.app, { host: o.host, port: o.port });
    logger.info({ url, openapi: `${url}/openapi.json` }, 'registry listening');
  } catch (err) {
    logger.fatal({ err }, 'registry could not listen');
    await registry.close().catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      registry.close().then(
        () => resolveExit(0),
        (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          resolveExit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cityedge-registry: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
