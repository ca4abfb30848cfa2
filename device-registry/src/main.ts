#!/usr/bin/env node
import { mkdirSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { parseRegistryArgs, USAGE } from './cli-args.js';
import { connectMosquitto, connectRabbitmq, startCentral, type Central, type CentralOptions } from './central.js';
import { INGEST_USAGE, parseIngestArgs } from './ingest/worker-args.js';
import { startIngestWorker, type IngestWorker } from './ingest/worker.js';

/**
 * The registry's command line: the HTTP API, storage and keys, and the broker gateways use:
 * embedded (aedes in this process, the single-machine default), Mosquitto driven through its
 * dynamic-security plugin, or a RabbitMQ cluster that asks the registry through its HTTP auth
 * backend. `cityedge-registry ingest …` runs a telemetry ingest worker instead.
 * Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad usage.
 */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'ingest') return ingestWorker(argv.slice(1));
  const parsed = parseRegistryArgs(argv, process.env, process.stdout.isTTY === true);
  if (!parsed.ok) {
    process.stderr.write(`cityedge-registry: ${parsed.message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const o = parsed.options;
  const logger = await makeLogger(o, 'registry');
  let central: Central;
  let closeBroker: () => Promise<void> = async () => undefined;
  try {
    mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    let broker: CentralOptions['broker'];
    if (o.broker === 'embedded') broker = { mode: 'embedded', host: o.mqttHost, port: o.mqttPort };
    else if (o.broker === 'mosquitto') broker = await connectMosquitto({ url: o.brokerUrl!, admin: o.dynsecAdmin, adminPassword: o.dynsecPassword!, dataDir: o.dataDir, topicPrefix: o.topicPrefix, logger });
    else {
      const rabbit = await connectRabbitmq({ url: o.brokerUrl!, ...(o.brokerOtherUrls && { otherUrls: o.brokerOtherUrls }), dataDir: o.dataDir, topicPrefix: o.topicPrefix, logger, auth: { host: o.rabbitmqAuth.host, port: o.rabbitmqAuth.port, ...(o.rabbitmqAuth.secret !== undefined && { secret: o.rabbitmqAuth.secret }) } });
      closeBroker = rabbit.close;
      broker = rabbit;
    }
    central = await startCentral({
      dataDir: o.dataDir,
      ...(o.databaseUrl !== undefined && { databaseUrl: o.databaseUrl }),
      logger,
      http: { host: o.host, port: o.port },
      broker,
      ...(o.gatewayBrokerUrl !== undefined && { brokerPublicUrl: o.gatewayBrokerUrl }),
      ...(o.gatewayBrokerUrls !== undefined && { brokerPublicUrls: o.gatewayBrokerUrls }),
      ...(o.trustProxy && { trustProxy: true }),
      topicPrefix: o.topicPrefix,
      ...(o.adminToken !== undefined && { adminToken: o.adminToken }),
      ...(o.adminAccount && { adminAccount: o.adminAccount }),
      ...(o.publicUrl !== undefined && { publicUrl: o.publicUrl }),
      telemetryPartitions: { aheadDays: o.partitionAheadDays, ...(o.telemetryRetentionDays !== undefined && { retentionDays: o.telemetryRetentionDays }) },
    });
  } catch (err) {
    await closeBroker();
    logger.fatal({ err }, 'registry could not start');
    process.stderr.write(`cityedge-registry: ${(err as Error).message}\n`);
    return 1;
  }
  if (central.registry.bootstrapToken) {
    process.stdout.write(`\nBootstrap admin API token (shown once; store it now):\n\n  ${central.registry.bootstrapToken}\n\n`);
  }
  logger.info({ url: central.url, openapi: `${central.url}/openapi.json`, gatewayBrokerUrl: central.brokerUrl, ...(o.broker !== 'embedded' && { registryBrokerUrl: o.brokerUrl }), mode: o.broker }, 'registry listening');
  return untilSignal(logger, () => central.stop().then(closeBroker));
}

async function makeLogger(o: { logLevel: string; logFormat: string }, service: string) {
  const logOptions = { level: o.logLevel, base: { service }, redact: { paths: ['req.headers.authorization', 'password', '*.password', 'token', '*.token'], censor: '[redacted]' } };
  // pino-pretty is loaded only for a person at a terminal; synchronous, so nothing is lost on exit.
  return o.logFormat === 'pretty' ? pino(logOptions, (await import('pino-pretty')).default({ sync: true, ignore: 'pid,hostname' })) : pino(logOptions);
}

/** Runs until SIGINT or SIGTERM, then `stop`: exit code 0, or 1 when stopping failed. */
function untilSignal(logger: Logger, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      stop().then(
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

/** `cityedge-registry ingest`: one telemetry ingest worker on PostgreSQL. */
async function ingestWorker(argv: string[]): Promise<number> {
  const parsed = parseIngestArgs(argv, process.env, process.stdout.isTTY === true);
  if (!parsed.ok) {
    process.stderr.write(`cityedge-registry ingest: ${parsed.message}\n${INGEST_USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(INGEST_USAGE + '\n');
    return 0;
  }
  const o = parsed.options;
  const logger = await makeLogger(o, 'ingest-worker');
  let worker: IngestWorker;
  try {
    worker = await startIngestWorker({
      databaseUrl: o.databaseUrl,
      source: o.source,
      brokerUrls: o.brokerUrls,
      username: o.username,
      password: o.password,
      workerId: o.workerId,
      prefix: o.topicPrefix,
      sharedGroup: o.sharedGroup,
      protocolVersion: o.protocolVersion,
      logger,
    });
  } catch (err) {
    logger.fatal({ err }, 'ingest worker could not start');
    process.stderr.write(`cityedge-registry ingest: ${(err as Error).message}\n`);
    return 1;
  }
  logger.info({ workerId: o.workerId, source: o.source, broker: o.brokerUrls, ...(o.source === 'mqtt' && { group: o.sharedGroup }) }, 'ingest worker running');
  const timer = o.statsIntervalSec > 0 ? setInterval(() => logger.info({ stats: worker.stats() }, 'ingest counters'), o.statsIntervalSec * 1000) : undefined;
  return untilSignal(logger, async () => {
    clearInterval(timer);
    await worker.stop();
    logger.info({ stats: worker.stats() }, 'ingest worker stopped');
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cityedge-registry: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
