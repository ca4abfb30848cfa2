import type { Logger } from 'pino';
import { openPostgresStore, type RegistryStore } from '../db/store.js';
import { AmqpTelemetryIngest } from './amqp-telemetry-ingest.js';
import { TelemetryIngest, type TelemetryIngestStats } from './telemetry-ingest.js';

/** The shared-subscription group of the registry's telemetry ingest: workers join the registry's own consumer. */
export const INGEST_GROUP = 'registry-ingest';

export interface IngestWorkerOptions {
  databaseUrl: string;
  /**
   * mqtt: an MQTT shared subscription (Mosquitto, EMQX); amqp: the telemetry quorum queue of a
   * RabbitMQ cluster (brokerUrls: its nodes' amqp:// URLs, tried in turn).
   */
  source?: 'mqtt' | 'amqp';
  brokerUrls: string[];
  username: string;
  password: string;
  /** Stable per worker: its client id `<username>-ingest-<workerId>` keeps its broker session (and unacknowledged messages) across a crash. */
  workerId: string;
  prefix: string;
  /** Shared-subscription group (default registry-ingest); none on a broker without `$share`. */
  sharedGroup?: string | null;
  protocolVersion?: 4 | 5;
  /** PostgreSQL connections (default: 2 for MQTT, which stores one message at a time; 8 for AMQP, which stores its prefetch concurrently). */
  maxConnections?: number;
  logger: Logger;
}

export interface IngestWorker {
  stats(): TelemetryIngestStats;
  stop(): Promise<void>;
}

/**
 * A telemetry ingest worker (`cityedge-registry ingest`): only the telemetry consumer, on
 * PostgreSQL, no HTTP API, no keys. Several run side by side (with MQTT beside the registry, in
 * one shared-subscription group; with AMQP on one quorum queue): the broker splits the stream,
 * each message is stored once by (gateway, seq) whichever worker gets it (or both, after a
 * redelivery), and acknowledged only after its transaction committed.
 */
export async function startIngestWorker(o: IngestWorkerOptions): Promise<IngestWorker> {
  const store: RegistryStore = await openPostgresStore({ databaseUrl: o.databaseUrl, maxConnections: o.maxConnections ?? (o.source === 'amqp' ? 8 : 2) });
  const group = o.sharedGroup === undefined ? INGEST_GROUP : o.sharedGroup;
  const withCredentials = (url: string) => {
    const u = new URL(url);
    u.username = o.username;
    u.password = o.password;
    return u.toString();
  };
  const ingest =
    o.source === 'amqp'
      ? new AmqpTelemetryIngest({ urls: o.brokerUrls.map(withCredentials), sink: store.telemetry, logger: o.logger, prefix: o.prefix })
      : new TelemetryIngest({
          connection: { url: o.brokerUrls[0]!, username: o.username, password: o.password, clientId: `${o.username}-ingest-${o.workerId}`, protocolVersion: o.protocolVersion ?? 5 },
          sink: store.telemetry,
          logger: o.logger,
          prefix: o.prefix,
          ...(group !== null && { sharedGroup: group }),
        });
  try {
    await ingest.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    stats: () => ingest.stats(),
    stop: async () => {
      await ingest.stop();
      await store.close();
    },
  };
}
