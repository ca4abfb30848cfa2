import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForwardingConfig, type GatewayEvent, type Reading } from '@cityedge/contract';
import { AGENT_VERSION, MqttSession, Outbox, OutboxDrain } from '@cityedge/edge-agent';
import { TestBroker } from '@cityedge/test-support';
import { TelemetryConsumer } from '../support/consumer.js';
import { quiet, waitUntil } from '../support/fixtures.js';

const GW = 'gw-disk';
const reading = (v: number): Reading => ({ dev: 'aq-1', pt: 'no2', ts: 1_700_000_000_000 + v, v, q: 'good', u: 'ug/m3' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The reading values committed in the outbox file, read by a connection of our own. */
function committedValues(path: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT body FROM telemetry ORDER BY id').pluck().all() as string[]).map((b) => (JSON.parse(b) as Reading).v as number);
  } finally {
    db.close();
  }
}

/**
 * Reliability case 14: the outbox file fills up (PRAGMA max_page_count: SQLite fails exactly as
 * on a full disk) while the broker is down; then space returns, then the broker. A consumer
 * counts what is delivered: everything committed before the disk filled arrives, and every
 * reading produced is either delivered or counted as dropped.
 */
describe('disk full while the broker is down, then space and broker back', () => {
  let gatewayAdmitted = false;
  const broker = new TestBroker({
    setup: (b) => {
      b.authenticate = (client, _u, _p, done) => done(null, client.id !== GW || gatewayAdmitted);
    },
  });
  let dir: string;
  let consumer: TelemetryConsumer;
  let outbox: Outbox;
  let session: MqttSession;
  let drain: OutboxDrain;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cityedge-diskfull-'));
    await broker.start();
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
  });

  afterAll(async () => {
    drain?.stop();
    await session?.stop();
    outbox?.stop();
    await consumer?.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers everything committed before the disk filled; produced = delivered + counted drops; configured limits again at once', async () => {
    const path = join(dir, 'outbox.db');
    outbox = new Outbox({
      path,
      gatewayId: GW,
      maxRows: 1_000_000,
      maxBytes: 1_000_000_000,
      telemetryOverflow: 'drop-oldest',
      commitIntervalMs: 5,
      logger: quiet,
      maxFileBytes: 384 * 1024,
      maxPendingBytes: 64 * 1024,
      probeMs: 10,
    });
    outbox.start();
    const config = ForwardingConfig.parse({ brokerUrl: broker.url, reconnectMinMs: 100, reconnectMaxMs: 1000, maxBatchReadings: 200, protocolVersion: 4 });
    session = new MqttSession({ config, gatewayId: GW, logger: quiet, agentVersion: AGENT_VERSION, status: () => ({}) });
    drain = new OutboxDrain({ outbox, session, logger: quiet, maxBatchReadings: config.maxBatchReadings, inflightWindow: config.inflightWindow });
    session.start();
    drain.start();
    await broker.stop();

    // ~10,000 readings/s in polls of 50 until the file is full.
    let produced = 0;
    const produce = () => {
      outbox.appendReadings(Array.from({ length: 50 }, (_, i) => reading(produced + i)));
      produced += 50;
    };
    while (!outbox.stats().storageFailing) {
      if (produced > 200_000) throw new Error('the outbox file never filled up');
      produce();
      await sleep(5);
    }
    const committedBefore = committedValues(path);
    expect(committedBefore.length).toBeGreaterThan(1000);
    // Readings keep coming while the disk is full: more than memory may hold.
    for (let i = 0; i < 60; i++) {
      produce();
      await sleep(5);
    }
    // Nothing committed made room for them.
    const inFile = new Set(committedValues(path));
    expect(committedBefore.filter((v) => !inFile.has(v))).toEqual([]);
    expect(outbox.stats().storageFailing).toBe(true);

    // Space comes back.
    outbox.limitFileBytes(undefined);
    await waitUntil(() => !outbox.stats().storageFailing && outbox.stats().pending === 0, 10_000, 'the outbox to write again');
    const atRecovery = outbox.stats().dropped;
    // The configured limits apply at once: three times the backlog that filled the disk, no drop.
    const backlog = outbox.stats().backlogRows;
    for (let n = 0; n < 3 * backlog; n += 50) produce();
    outbox.flush();
    expect(outbox.stats().dropped).toEqual(atRecovery);
    expect(outbox.stats().backlogRows).toBeGreaterThan(3 * backlog);

    // The broker returns (the gateway is let in once the consumer has subscribed again).
    const subscriptions = consumer.subscriptions;
    await broker.start();
    await consumer.waitFor(() => consumer.subscriptions > subscriptions, 10_000, 'the consumer to resubscribe');
    gatewayAdmitted = true;
    await waitUntil(() => outbox.stats().backlogRows === 0 && outbox.stats().pending === 0, 30_000, 'the backlog to drain');
    const lastSeq = outbox.stats().nextSeq - 1;
    await consumer.waitFor(() => (consumer.seen.get(GW)?.size ?? 0) === lastSeq, 10_000, 'every message at the consumer');

    expect(consumer.gaps(GW)).toEqual([]);
    const delivered = new Set(consumer.readings.map((r) => r.v as number));
    expect(delivered.size).toBe(consumer.readings.length);
    expect(committedBefore.filter((v) => !delivered.has(v))).toEqual([]);
    const events = consumer.events.filter((e: GatewayEvent) => e.type.startsWith('buffer.'));
    expect(events.map((e) => e.type)).toEqual(['buffer.storage_error']);
    const counted = events.reduce((n, e) => n + Number(e.data?.droppedTelemetry ?? 0), 0);
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBe(outbox.stats().dropped.telemetry);
    expect(outbox.stats().appended.telemetry).toBe(produced);
    expect(delivered.size + counted).toBe(produced);
  }, 60_000);
});
