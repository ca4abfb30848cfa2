import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeReading, encodeTelemetryMessage, topicFor, type Reading } from '@cityedge/contract';
import { EmbeddedBroker } from '../broker/embedded-broker.js';
import { AuditLog, MemoryCredentials, TestClient, quiet, waitUntil } from '../broker/testing/mqtt-test-kit.js';
import { MemoryTelemetrySink } from './memory-telemetry-sink.js';
import { TelemetryIngest } from './telemetry-ingest.js';

const reading = (i: number): Reading => ({ dev: 'th-1', pt: 'temperature', ts: 1_700_000_000_000 + i, v: 20 + i / 10, q: 'good', u: '°C' });
const message = (gw: string, seq: number, n = 2): string => encodeTelemetryMessage(gw, seq, Array.from({ length: n }, (_, i) => encodeReading(reading(seq * 10 + i))));

describe('telemetry ingest (embedded broker, plain subscription)', () => {
  const broker = new EmbeddedBroker({ port: 0, credentials: new MemoryCredentials({ 'gw-a': 'pa' }), audit: new AuditLog().sink, logger: quiet });
  let gw: TestClient;
  const running: TelemetryIngest[] = [];

  const ingest = async (sink: MemoryTelemetrySink, suffix: string): Promise<TelemetryIngest> => {
    const i = new TelemetryIngest({ connection: broker.serviceConnection(`_registry-ingest-${suffix}`) as ReturnType<EmbeddedBroker['serviceConnection']> & { clientId: string }, sink, logger: quiet, retryMinMs: 10, retryMaxMs: 50 });
    await i.start();
    running.push(i);
    return i;
  };
  const send = (topic: string, payload: string | Buffer): Promise<unknown> => gw.client.publishAsync(topic, payload, { qos: 1 });

  beforeAll(async () => {
    await broker.start();
    gw = await TestClient.connect(broker.url, 'gw-a', 'pa', 'gw-a');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((i) => i.stop()));
  });
  afterAll(async () => {
    await gw?.end();
    await broker.stop();
  });

  it('stores a message once when the same (gw, seq) arrives twice', async () => {
    const sink = new MemoryTelemetrySink();
    const i = await ingest(sink, 'dup');
    await send(topicFor('gw-a', 'telemetry'), message('gw-a', 1));
    await send(topicFor('gw-a', 'telemetry'), message('gw-a', 1));
    await send(topicFor('gw-a', 'telemetry'), message('gw-a', 2, 3));
    await waitUntil(() => i.stats().received === 3, 'three messages');
    expect(i.stats()).toMatchObject({ stored: 2, duplicates: 1, readings: 5, malformed: 0 });
    expect(sink.readings('gw-a')).toHaveLength(5);
    expect(sink.readings('gw-a')[0]).toEqual(reading(10));
  });

  it('counts malformed messages and messages naming another gateway, acknowledges them and keeps going', async () => {
    const sink = new MemoryTelemetrySink();
    const i = await ingest(sink, 'bad');
    const t = topicFor('gw-a', 'telemetry');
    const bad = ['{', '{}', JSON.stringify({ v: 1, gw: 'gw-a', seq: -1, readings: [] }), JSON.stringify({ v: 1, gw: 'gw-a', seq: 5, readings: [{ dev: 'x' }] }), JSON.stringify({ v: 1, gw: 'gw-a', seq: 1.5, readings: [] }), Buffer.alloc(2 * 1024 * 1024, 0x20)];
    for (const p of bad) await send(t, p);
    await send(t, message('gw-b', 7));
    await send(t, message('gw-a', 8));
    await waitUntil(() => i.stats().stored === 1, 'the valid message after the bad ones');
    expect(i.stats()).toMatchObject({ received: bad.length + 2, malformed: bad.length, mismatched: 1, stored: 1 });
    expect([...sink.batches.values()].map((b) => [b.gatewayId, b.seq])).toEqual([['gw-a', 8]]);
  });

  it('retries a failing insert and acknowledges only once it is stored', async () => {
    const sink = new MemoryTelemetrySink();
    sink.failWith = new Error('database is locked');
    const i = await ingest(sink, 'retry');
    await send(topicFor('gw-a', 'telemetry'), message('gw-a', 20));
    await waitUntil(() => i.stats().sinkErrors >= 2, 'failed attempts');
    expect(i.stats().stored).toBe(0);
    sink.failWith = undefined;
    await waitUntil(() => i.stats().stored === 1, 'the insert after recovery');
    expect(i.stats().duplicates).toBe(0);
  });

  it('gets the message redelivered when it stops (crashes) before the insert finished', async () => {
    const stuck = new MemoryTelemetrySink();
    stuck.hold = new Promise(() => undefined);
    const first = await ingest(stuck, 'crash');
    await send(topicFor('gw-a', 'telemetry'), message('gw-a', 30));
    await waitUntil(() => stuck.inserts === 1, 'the insert to start');
    await first.stop();
    running.splice(running.indexOf(first), 1);
    const sink = new MemoryTelemetrySink();
    const second = await ingest(sink, 'crash');
    await waitUntil(() => second.stats().stored === 1, 'the redelivered message');
    expect([...sink.batches.values()].map((b) => b.seq)).toEqual([30]);
  });

  it('refuses a shared subscription on the embedded broker with a coded error', async () => {
    const i = new TelemetryIngest({ connection: { ...broker.serviceConnection(), clientId: '_registry-ingest-shared' }, sink: new MemoryTelemetrySink(), logger: quiet, sharedGroup: 'ingest' });
    await expect(i.start()).rejects.toMatchObject({ code: 'REG_BROKER_DENIED' });
  });
});
