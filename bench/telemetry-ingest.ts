import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { encodeReading, encodeTelemetryMessage, topicFor, type Reading } from '@cityedge/contract';
import { openPostgresStore, openSqliteStore, startCentral, SYSTEM, type RegistryStore } from '@cityedge/device-registry';
import { displayDbUrl, postgresUnavailable, PG_ADMIN_URL, tempDatabase } from './pg-temp.js';
import { pollGroups } from './readings.js';
import { inPool } from './pool.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

const SECTION = '7. telemetry ingest into the registry database, dedup by (gateway, seq)';

interface Message {
  gw: string;
  seq: number;
  readings: Reading[];
  duplicate: boolean;
}

export interface Workload {
  messages: Message[];
  unique: number;
  duplicates: number;
  readingsPerMessage: number;
}

/** A seeded generator so two runs send the same stream. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * `gateways` x `perGateway` telemetry messages of `readingsPerMessage` AQT530 readings,
 * gateways interleaved, and a `dupFraction` of them sent again a few messages later (as a QoS 1
 * resend or a second consumer would see them).
 */
export function telemetryWorkload(prefix: string, gateways: number, perGateway: number, readingsPerMessage = 500, dupFraction = 0.05): Workload {
  const rand = lcg(7);
  const groups = pollGroups(perGateway * readingsPerMessage, readingsPerMessage);
  const messages: Message[] = [];
  for (let seq = 0; seq < perGateway; seq++) {
    for (let g = 0; g < gateways; g++) messages.push({ gw: `${prefix}-${g}`, seq: seq + 1, readings: groups[seq] as Reading[], duplicate: false });
  }
  const unique = messages.length;
  const dups = Math.round(unique * dupFraction);
  // Evenly spread originals, each resent 1..20 messages after it.
  const picks = Array.from({ length: dups }, (_, i) => Math.floor(((i + 0.5) * unique) / dups));
  for (const at of picks.reverse()) {
    const orig = messages[at] as Message;
    const to = Math.min(messages.length, at + 1 + Math.floor(rand() * 20));
    messages.splice(to, 0, { ...orig, duplicate: true });
  }
  return { messages, unique, duplicates: dups, readingsPerMessage };
}

async function counts(store: RegistryStore, prefix: string): Promise<{ batches: number; rows: number }> {
  const b = await store.db
    .selectFrom('telemetry_batches')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('gateway_id', 'like', `${prefix}-%`)
    .executeTakeFirstOrThrow();
  const r = await store.db
    .selectFrom('telemetry')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('gateway_id', 'like', `${prefix}-%`)
    .executeTakeFirstOrThrow();
  return { batches: Number(b.n), rows: Number(r.n) };
}

/** Checks the stored counts against the workload; a note saying what was dropped, or throws. */
async function checkDedup(store: RegistryStore, prefix: string, w: Workload, dropped?: number): Promise<string> {
  const c = await counts(store, prefix);
  const want = { batches: w.unique, rows: w.unique * w.readingsPerMessage };
  if (c.batches !== want.batches || c.rows !== want.rows) {
    throw new Error(`dedup check failed for ${prefix}: stored ${c.batches} messages / ${c.rows} readings, expected ${want.batches} / ${want.rows}`);
  }
  if (dropped !== undefined && dropped !== w.duplicates) throw new Error(`dedup check failed for ${prefix}: ${dropped} inserts refused as duplicates, expected ${w.duplicates}`);
  return `${w.duplicates} duplicates of ${w.messages.length} messages dropped, ${c.rows.toLocaleString('en-US')} rows stored (checked)`;
}

/** TelemetryRepo.insertTelemetryBatch called directly, `concurrency` messages at a time (1 = one ingest consumer). */
async function repoRun(store: RegistryStore, prefix: string, w: Workload, concurrency: number): Promise<{ seconds: number; note: string }> {
  let dropped = 0;
  const t0 = performance.now();
  await inPool(w.messages, concurrency, async (m) => {
    if (!(await store.telemetry.insertTelemetryBatch(m.gw, m.seq, m.readings))) dropped++;
  });
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, note: await checkDedup(store, prefix, w, dropped) };
}

function repoRow(db: string, label: string, w: Workload, r: { seconds: number; note: string }): Row {
  const stored = w.unique * w.readingsPerMessage;
  return {
    section: SECTION,
    name: `${db}: repo insert, ${label}`,
    value: stored / r.seconds,
    unit: 'readings/s',
    note: `${w.messages.length} messages of ${w.readingsPerMessage} in ${r.seconds.toFixed(2)} s (${((w.messages.length / r.seconds) | 0).toLocaleString('en-US')} msg/s); ${r.note}`,
  };
}

/**
 * End to end on one machine: startCentral with the embedded broker (aedes) and its telemetry
 * ingest; gateways enrolled through the services publish QoS 1 telemetry (duplicates included)
 * under their own credentials; the time runs from the first publish until the database holds
 * every unique message.
 */
async function endToEnd(scope: Scope, logger: Logger, db: string, databaseUrl: string | undefined, w: Workload, gateways: number): Promise<Row> {
  const s = scope.child();
  try {
    const central = await startCentral({
      dataDir: s.tempDir('cityedge-bench-ingest-'),
      ...(databaseUrl !== undefined && { databaseUrl }),
      logger,
      http: { host: '127.0.0.1', port: 0 },
      broker: { mode: 'embedded', host: '127.0.0.1', port: 0 },
    });
    s.defer(() => central.stop());
    const { services, store } = central.registry;
    const clients: MqttClient[] = [];
    s.defer(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    });
    for (let g = 0; g < gateways; g++) {
      const gw = `e2e-${g}`;
      const { enrollment } = await services.gateways.create({ id: gw }, SYSTEM);
      const identity = await services.enrollment.enroll({ code: enrollment.code }, { ...SYSTEM, registryUrl: central.url });
      clients.push(await mqtt.connectAsync(central.brokerUrl, { username: gw, password: identity.mqtt.password, clientId: gw, protocolVersion: 4, reconnectPeriod: 0 }, false));
    }
    const byGw = new Map(clients.map((c, g) => [`e2e-${g}`, c]));
    const payloads = w.messages.map((m) => ({ client: byGw.get(m.gw) as MqttClient, topic: topicFor(m.gw, 'telemetry'), payload: encodeTelemetryMessage(m.gw, m.seq, m.readings.map(encodeReading)) }));
    const t0 = performance.now();
    const acked = Promise.all(payloads.map((p) => p.client.publishAsync(p.topic, p.payload, { qos: 1 })));
    const deadline = t0 + 120_000;
    let stored = 0;
    while (stored < w.unique) {
      if (performance.now() > deadline) throw new Error(`${db} end to end: ${stored} of ${w.unique} messages stored after 120 s`);
      await new Promise((r) => setTimeout(r, 25));
      stored = (await counts(store, 'e2e')).batches;
    }
    const seconds = (performance.now() - t0) / 1000;
    await acked;
    await new Promise((r) => setTimeout(r, 300)); // duplicates still queued would show up as extra rows
    const note = await checkDedup(store, 'e2e', w);
    const bytes = payloads.reduce((n, p) => n + p.payload.length, 0) / payloads.length;
    return {
      section: SECTION,
      name: `${db}: end to end through the embedded broker`,
      value: (w.unique * w.readingsPerMessage) / seconds,
      unit: 'readings/s',
      note: `${gateways} gateways publishing QoS 1 (this process), ${w.messages.length} messages of ~${(bytes / 1024).toFixed(0)} KB in ${seconds.toFixed(2)} s; one ingest consumer; ${note}`,
    };
  } finally {
    await s.close();
  }
}

export interface IngestOptions {
  logger: Logger;
  /** Messages per run in the repo benchmark, and in the end-to-end one. */
  repoMessages?: number;
  e2eMessages?: number;
}

/** Readings/s stored into SQLite and PostgreSQL with duplicate (gateway, seq) dropped. */
export async function benchIngest(scope: Scope, o: IngestOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const repoMsgs = o.repoMessages ?? 400;
  const e2eMsgs = o.e2eMessages ?? 400;
  const e2eGateways = 4;
  const repoWork = (prefix: string) => telemetryWorkload(prefix, 10, repoMsgs / 10);
  const e2eWork = telemetryWorkload('e2e', e2eGateways, e2eMsgs / e2eGateways);

  {
    const s = scope.child();
    try {
      const store = await openSqliteStore({ dataDir: s.tempDir('cityedge-bench-ingest-') });
      s.defer(() => store.close());
      const w = repoWork('gw-seq');
      rows.push(repoRow('SQLite', 'one message at a time', w, await repoRun(store, 'gw-seq', w, 1)));
    } finally {
      await s.close();
    }
    rows.push(await endToEnd(scope, o.logger, 'SQLite', undefined, e2eWork, e2eGateways));
  }

  const why = await postgresUnavailable();
  if (why) {
    rows.push({ section: SECTION, name: 'PostgreSQL', value: undefined, unit: '', note: `skipped: ${displayDbUrl(PG_ADMIN_URL)} unreachable (${why})` });
    return rows;
  }
  {
    const s = scope.child();
    try {
      const url = await tempDatabase(s);
      const store = await openPostgresStore({ databaseUrl: url });
      s.defer(() => store.close());
      const seq = repoWork('gw-seq');
      rows.push(repoRow('PostgreSQL', 'one message at a time', seq, await repoRun(store, 'gw-seq', seq, 1)));
      const par = repoWork('gw-par');
      rows.push(repoRow('PostgreSQL', '4 at a time (4 consumers in a shared subscription)', par, await repoRun(store, 'gw-par', par, 4)));
    } finally {
      await s.close();
    }
  }
  {
    const s = scope.child();
    try {
      const url = await tempDatabase(s);
      rows.push(await endToEnd(s, o.logger, 'PostgreSQL', url, e2eWork, e2eGateways));
    } finally {
      await s.close();
    }
  }
  return rows;
}
