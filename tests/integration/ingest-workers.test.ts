import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { sql } from 'kysely';
import { encodeReading, encodeTelemetryMessage, type Reading } from '@cityedge/contract';
import { eventually, MosquittoProcess, RabbitCluster, waitUntil } from '@cityedge/test-support';
import { openPostgresStore, type RegistryStore } from '../../device-registry/src/db/store.js';
import { createTestDatabase, type TestDatabase } from '../../device-registry/src/testing/stores.js';
import { bundleOptions } from '../../tsup.config.js';

const PG_ADMIN = process.env.REGISTRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const OUT = 'tests/.build/ingest-workers';
const GATEWAYS = 20;
const SEQS = 100;
const READINGS = 10;

interface Worker {
  id: string;
  proc: ChildProcess;
  out: string;
  exited: Promise<number | null>;
}

/** How the scenario reaches one kind of broker. */
interface Broker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The worker's broker flags (and the password it gets in its environment). */
  workerArgs(): string[];
  password: string;
  /** Where the two publishers connect. */
  publisher(clientId: string): { url: string; options: IClientOptions };
  /** Something the broker lives through at half time (a node killed -9), or nothing. */
  midway?(): Promise<void>;
  /** After the run: undo `midway` (restart the node). */
  heal?(): Promise<void>;
}

/**
 * Three `cityedge-registry ingest` processes consuming competitively and storing into one
 * PostgreSQL: every message is published twice (two publishers, so the copies may go to
 * different workers), and one worker is killed -9 while messages flow and started again under its
 * id. Every (gateway, seq) is stored exactly once and none is missing.
 */
function workersScenario(name: string, broker: Broker): void {
  describe(name, () => {
    let db: TestDatabase;
    let store: RegistryStore;
    const workers = new Map<string, Worker>();

    function startWorker(id: string): Promise<Worker> {
      const args = [join(OUT, 'cityedge-registry.js'), 'ingest', '--database-url', db.url, ...broker.workerArgs(), '--worker-id', id, '--log-format', 'json', '--stats-interval', '0'];
      const proc = spawn(process.execPath, args, { env: { ...process.env, REGISTRY_BROKER_PASSWORD: broker.password }, stdio: ['ignore', 'pipe', 'pipe'] });
      const w: Worker = { id, proc, out: '', exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
      proc.stdout!.on('data', (d: Buffer) => (w.out += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (w.out += d.toString()));
      workers.set(id, w);
      return waitUntil(() => w.out.includes('ingest worker running') || w.proc.exitCode !== null, 60_000, `worker ${id} running`).then(() => {
        if (w.proc.exitCode !== null) throw new Error(`worker ${id} exited ${w.proc.exitCode}: ${w.out}`);
        return w;
      });
    }

    beforeAll(async () => {
      await build({ ...bundleOptions, config: false, entry: { 'cityedge-registry': 'device-registry/src/main.ts' }, outDir: OUT, sourcemap: false });
      await broker.start();
      db = await createTestDatabase(PG_ADMIN);
      store = await openPostgresStore({ databaseUrl: db.url, maxConnections: 2 });
      for (const id of ['w1', 'w2', 'w3']) await startWorker(id);
    }, 300_000);

    afterAll(async () => {
      for (const w of workers.values()) w.proc.kill('SIGKILL');
      await store?.close();
      await db?.drop();
      await broker.stop();
    }, 120_000);

    it('stores every message exactly once across workers, duplicates and a killed worker included', async () => {
      const publishers: MqttClient[] = await Promise.all(
        ['pub-a', 'pub-b'].map((clientId) => {
          const p = broker.publisher(clientId);
          return mqtt.connectAsync(p.url, { clientId, reconnectPeriod: 0, ...p.options });
        }),
      );
      const t0 = Date.now();
      const message = (g: number, seq: number) => {
        const gw = `gw-${g}`;
        const readings: Reading[] = Array.from({ length: READINGS }, (_, i) => ({ dev: `dev-${i}`, pt: 'level', ts: t0 + seq * 1000 + i, v: seq + i / 100, q: 'good' }));
        return { topic: `edge/v1/${gw}/telemetry`, payload: encodeTelemetryMessage(gw, seq, readings.map(encodeReading)) };
      };
      for (let seq = 1; seq <= SEQS; seq++) {
        const sends: Promise<unknown>[] = [];
        for (let g = 0; g < GATEWAYS; g++) {
          const m = message(g, seq);
          for (const p of publishers) sends.push(p.publishAsync(m.topic, m.payload, { qos: 1 }));
        }
        await Promise.all(sends);
        if (seq === SEQS / 2) {
          // Killed while it holds messages it has not acknowledged (the stream is still flowing).
          workers.get('w2')!.proc.kill('SIGKILL');
          expect(await workers.get('w2')!.exited).toBe(null);
          await broker.midway?.();
        }
      }
      await Promise.all(publishers.map((p) => p.endAsync()));
      // Back under the same id (on Mosquitto the broker hands it the session it kept).
      await startWorker('w2');
      await broker.heal?.();

      const total = GATEWAYS * SEQS;
      let stored = 0;
      await eventually(
        async () => {
          const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM telemetry_batches`.execute(store.db);
          stored = r.rows[0]!.n;
          return stored === total ? true : undefined;
        },
        240_000,
        `all ${total} messages stored`,
      ).catch((err: Error) => {
        throw new Error(`${err.message} (${stored} stored); the workers said: ${[...workers.values()].map((w) => w.out.slice(-800)).join('\n')}`);
      });
      const counts = await sql<{ batches: number; readings: number; distinct_readings: number }>`
        SELECT (SELECT count(*)::int FROM telemetry_batches) AS batches,
               (SELECT count(*)::int FROM telemetry) AS readings,
               (SELECT count(DISTINCT (gateway_id, seq, idx))::int FROM telemetry) AS distinct_readings`.execute(store.db);
      expect(counts.rows[0]).toEqual({ batches: total, readings: total * READINGS, distinct_readings: total * READINGS });
      for (let g = 0; g < GATEWAYS; g++) {
        const seqs = await sql<{ seq: number }>`SELECT seq FROM telemetry_batches WHERE gateway_id = ${`gw-${g}`} ORDER BY seq`.execute(store.db);
        expect(seqs.rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: SEQS }, (_, i) => i + 1));
      }

      // Each worker, stopped cleanly, says what it did: the two never killed took part (the restarted
      // w2 speaks only for its second life, which may find the queue drained already), and the
      // copies were seen as duplicates.
      const stats = new Map<string, { received: number; stored: number; duplicates: number }>();
      for (const [id, w] of workers) {
        w.proc.kill('SIGTERM');
        expect(await w.exited).toBe(0);
        const line = w.out.split('\n').find((l) => l.includes('ingest worker stopped'));
        stats.set(id, (JSON.parse(line!) as { stats: { received: number; stored: number; duplicates: number } }).stats);
      }
      expect([...stats].filter(([id]) => id !== 'w2').every(([, s]) => s.received > 0)).toBe(true);
      expect([...stats.values()].reduce((n, s) => n + s.duplicates, 0)).toBeGreaterThan(0);
    }, 300_000);
  });
}

const mosq = new MosquittoProcess();
workersScenario('ingest workers on PostgreSQL and Mosquitto (shared subscription)', {
  start: async () => void (await mosq.start()),
  stop: () => mosq.stop(),
  workerArgs: () => ['--broker-url', mosq.url, '--username', 'ingest'],
  password: 'ingest-password',
  publisher: () => ({ url: mosq.url, options: { protocolVersion: 5 } }),
});

const cluster = new RabbitCluster();
workersScenario('ingest workers on PostgreSQL and the 3-node RabbitMQ cluster (one telemetry quorum queue), a node killed -9 midway', {
  start: async () => void (await cluster.start()),
  // A node restarted during the test may still be writing its files for a moment after kill -9.
  stop: async () => {
    await cluster.stop(true);
    rmSync(cluster.dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  },
  // The workers log in as the cluster's administrator (the test cluster's internal user).
  workerArgs: () => ['--source', 'amqp', '--broker-url', cluster.nodes.map((n) => `amqp://127.0.0.1:${n.amqpPort}`).join(','), '--username', cluster.user],
  get password() {
    return cluster.password;
  },
  publisher: () => ({ url: cluster.nodes[0]!.mqttUrl, options: { protocolVersion: 4, username: cluster.user, password: cluster.password } }),
  midway: () => cluster.kill(1),
  heal: () => cluster.startNode(1),
});
