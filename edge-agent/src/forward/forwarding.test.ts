import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Channel, ForwardingConfig, type EventsMessage, type ForwardingConfig as ForwardingConfigT, type Reading, type StatusMessage, type TelemetryMessage } from '@cityedge/contract';
import { Outbox } from '../store/outbox.js';
import { MqttSession, type MqttSessionOptions } from '../mqtt/mqtt-session.js';
import { OutboxDrain, type OutboxDrainOptions } from './outbox-drain.js';
import { Mqtt5TestBroker, TestBroker, waitUntil, type ReceivedMessage } from '@cityedge/test-support';

let dir: string;
let logs: Array<Record<string, unknown>>;
const cleanups: Array<() => unknown> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'forwarder-test-'));
  logs = [];
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

const logger = () => pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });

function makeOutbox(): Outbox {
  const outbox = new Outbox({ path: join(dir, 'outbox.db'), gatewayId: 'gw-1', maxRows: 1_000_000, maxBytes: 1e9, telemetryOverflow: 'drop-oldest', commitIntervalMs: 2, logger: pino({ level: 'silent' }) });
  outbox.start();
  cleanups.push(() => outbox.stop());
  return outbox;
}

/** The two parts that forward: the MQTT session and the outbox drain over it, started and stopped as the runtime does. */
function makeForwarder(outbox: Outbox, config: Partial<ForwardingConfigT> & { brokerUrl: string }, extra: Partial<MqttSessionOptions> = {}, drainExtra: Partial<OutboxDrainOptions> = {}) {
  const cfg = ForwardingConfig.parse({ reconnectMinMs: 100, reconnectMaxMs: 1000, statusIntervalMs: 1000, inflightWindow: 4, maxBatchReadings: 20, ...config });
  const log = logger();
  const session = new MqttSession({
    config: cfg,
    gatewayId: 'gw-1',
    logger: log,
    agentVersion: '9.9.9',
    status: () => ({ configVersion: 7, devicesFailing: 1 }),
    random: () => 0.5,
    stopTimeoutMs: 500,
    ...extra,
  });
  const drain = new OutboxDrain({ outbox, session, logger: log, maxBatchReadings: cfg.maxBatchReadings, inflightWindow: cfg.inflightWindow, ...drainExtra });
  const parts = {
    session,
    drain,
    start: () => {
      session.start();
      drain.start();
    },
    stop: async () => {
      drain.stop();
      await session.stop();
    },
    stats: () => ({ ...session.stats(), ...drain.stats() }),
    subscribe: session.subscribe.bind(session),
  };
  cleanups.push(() => parts.stop());
  return parts;
}

async function startBroker(broker = new TestBroker()): Promise<TestBroker> {
  await broker.start();
  cleanups.push(() => broker.stop());
  return broker;
}

const waitFor = (what: string, cond: () => boolean, timeoutMs = 8000) => waitUntil(cond, timeoutMs, what);

const reading = (v: number): Reading => ({ dev: 'd1', pt: 'p', ts: 1_700_000_000_000 + v, v, q: 'good' });
const readings = (from: number, n: number) => Array.from({ length: n }, (_, i) => reading(from + i));
const data = (msgs: ReceivedMessage[]) => msgs.filter((m) => m.topic.endsWith('/telemetry') || m.topic.endsWith('/events'));
const statuses = (msgs: ReceivedMessage[]) => msgs.filter((m) => m.topic === 'edge/v1/gw-1/status').map((m) => ({ ...(JSON.parse(m.payload) as StatusMessage), retain: m.retain }));

/** Messages by seq, checking that every duplicate is byte-identical; returns them in seq order. */
function bySeq(msgs: ReceivedMessage[]): Array<TelemetryMessage | EventsMessage> {
  const seen = new Map<number, string>();
  for (const m of data(msgs)) {
    const msg = JSON.parse(m.payload) as TelemetryMessage;
    const prev = seen.get(msg.seq);
    if (prev !== undefined) expect(m.payload).toBe(prev);
    seen.set(msg.seq, m.payload);
  }
  return [...seen.keys()].sort((a, b) => a - b).map((seq) => JSON.parse(seen.get(seq)!) as TelemetryMessage | EventsMessage);
}
const values = (msgs: Array<TelemetryMessage | EventsMessage>) => msgs.flatMap((m) => ('readings' in m ? m.readings.map((r) => r.v) : []));

describe('forwarding: the MQTT session and the outbox drain', () => {
  it('forwards events first, then telemetry, on the gateway topics, and deletes what was acked', async () => {
    const broker = await startBroker(
      new TestBroker({ authenticate: (_c, user, pass, done) => done(null, user === 'gw-1' && pass?.toString() === 's3cret-pw') }),
    );
    const outbox = makeOutbox();
    outbox.appendReadings(readings(0, 95));
    outbox.appendEvent({ type: 'device.offline', ts: 1, severity: 'alarm', message: 'd2 offline', dev: 'd2' });
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url, username: 'gw-1', password: 's3cret-pw' });
    forwarder.start();
    await waitFor('the backlog to drain', () => outbox.stats().backlogRows === 0 && outbox.stats().inflightBatches === 0);

    const msgs = data(broker.received);
    expect(msgs[0]).toMatchObject({ topic: 'edge/v1/gw-1/events', clientId: 'gw-1' });
    expect(JSON.parse(msgs[0]!.payload)).toEqual({ v: 1, gw: 'gw-1', seq: 1, events: [{ type: 'device.offline', ts: 1, severity: 'alarm', message: 'd2 offline', dev: 'd2' }] });
    expect(msgs.slice(1).every((m) => m.topic === 'edge/v1/gw-1/telemetry')).toBe(true);
    const ordered = bySeq(broker.received);
    expect(ordered.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(values(ordered)).toEqual(readings(0, 95).map((r) => r.v));
    expect(forwarder.stats()).toMatchObject({ connected: true, published: 6, acked: 6, ackedReadings: 95, inflight: 0, protocolVersion: 4 });

    const online = statuses(broker.received)[0];
    expect(online).toMatchObject({ v: 1, gw: 'gw-1', state: 'online', agentVersion: '9.9.9', configVersion: 7, devicesFailing: 1, retain: true });
    expect(JSON.stringify(logs)).not.toContain('s3cret');
  });

  it('loses nothing and keeps order when the broker dies and comes back; duplicates carry the same seq', async () => {
    const broker = await startBroker();
    const outbox = makeOutbox();
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url });
    forwarder.start();
    let produced = 0;
    const producer = setInterval(() => {
      outbox.appendReadings(readings(produced, 7));
      produced += 7;
    }, 3);
    cleanups.push(() => clearInterval(producer));
    await waitFor('first deliveries', () => data(broker.received).length >= 5);
    await broker.stop();
    await waitFor('the forwarder to notice', () => !forwarder.stats().connected);
    const producedWhileDown = produced;
    await waitFor('a backlog to build', () => produced > producedWhileDown + 100);
    await broker.start();
    await waitFor('reconnect', () => forwarder.stats().connected);
    clearInterval(producer);
    await waitFor('the backlog to drain', () => outbox.stats().backlogRows === 0 && outbox.stats().pending === 0);

    const ordered = bySeq(broker.received);
    expect(ordered.map((m) => m.seq)).toEqual(ordered.map((_, i) => i + 1));
    expect(values(ordered)).toEqual(readings(0, produced).map((r) => r.v));
    expect(forwarder.stats().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('says once when a backlog has been sent, not while it is still sending and not for live traffic', async () => {
    const broker = await startBroker();
    const outbox = makeOutbox();
    const backlogs: number[] = [];
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url }, {}, { backlogReadings: 1000, onBacklogSent: (n) => backlogs.push(n) });
    forwarder.start();
    // Live traffic, more than backlogReadings in all: the drain catches up after every commit.
    for (let i = 0; i < 50; i++) {
      outbox.appendReadings(readings(i * 30, 30));
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor('live readings sent', () => forwarder.stats().ackedReadings === 1500);
    expect(backlogs).toEqual([]);
    await broker.stop();
    await waitFor('the forwarder to notice', () => !forwarder.stats().connected);
    for (let i = 0; i < 10; i++) outbox.appendReadings(readings(1500 + i * 300, 300));
    outbox.flush();
    await broker.start();
    await waitFor('the backlog to drain', () => outbox.stats().backlogRows === 0 && forwarder.stats().inflight === 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(backlogs).toHaveLength(1);
    // Everything it sent since it last caught up: the backlog, which it sends 4 messages of 20 readings at a time.
    expect(backlogs[0]).toBeGreaterThanOrEqual(3000);
    expect(values(bySeq(broker.received))).toEqual(readings(0, 4500).map((r) => r.v));
  });

  it('keeps retrying with capped, jittered backoff when the broker refuses the credentials', async () => {
    const broker = await startBroker();
    broker.refuseConnect = true;
    const outbox = makeOutbox();
    outbox.appendReadings(readings(0, 10));
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url, reconnectMinMs: 100, reconnectMaxMs: 1000 });
    forwarder.start();
    await waitFor('four refused attempts', () => broker.connectAttempts >= 4);
    expect(forwarder.stats()).toMatchObject({ connected: false });
    expect(forwarder.stats().lastError).toMatch(/bad username or password/i);
    // MQTT 5 refused by aedes: retry at once with 3.1.1; then random() = 0.5 of 100, 200, 400 ms...
    const delays = logs.filter((l) => typeof l.reconnectInMs === 'number').map((l) => l.reconnectInMs);
    expect(delays.slice(0, 4)).toEqual([0, 50, 100, 200]);
    expect(outbox.stats().backlogRows).toBe(10);

    broker.refuseConnect = false;
    await waitFor('delivery after the credentials are accepted', () => outbox.stats().backlogRows === 0);
  });

  it('publishes a retained online status, leaves a retained offline will, and says offline on a clean stop', async () => {
    const broker = await startBroker();
    const outbox = makeOutbox();
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url });
    forwarder.start();
    await waitFor('online', () => statuses(broker.published).some((s) => s.state === 'online'));
    broker.dropClient('gw-1');
    await waitFor('the last will', () => statuses(broker.published).some((s) => s.state === 'offline'));
    expect(statuses(broker.published).find((s) => s.state === 'offline')).toMatchObject({ gw: 'gw-1', retain: true, agentVersion: '9.9.9' });
    await waitFor('back online', () => statuses(broker.published).filter((s) => s.state === 'online').length >= 2);

    await forwarder.stop();
    expect(statuses(broker.published).at(-1)).toMatchObject({ state: 'offline', retain: true });
    const retained = await new Promise<StatusMessage>((resolve, reject) => {
      const sub = mqtt.connect(broker.url, { reconnectPeriod: 0 });
      sub.on('error', reject);
      sub.on('message', (_topic, payload) => {
        sub.end(true);
        resolve(JSON.parse(payload.toString()) as StatusMessage);
      });
      sub.subscribe('edge/v1/gw-1/status', { qos: 1 });
    });
    expect(retained).toMatchObject({ state: 'offline', gw: 'gw-1' });
  });

  it('keeps a batch the broker refuses (aedes drops the connection) and delivers it later with the same seq', async () => {
    const broker = await startBroker();
    broker.refusePublish = (topic) => topic.endsWith('/telemetry');
    const outbox = makeOutbox();
    outbox.appendReadings(readings(0, 30));
    outbox.flush();
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url });
    forwarder.start();
    await waitFor('two refused rounds', () => forwarder.stats().reconnects >= 3);
    expect(outbox.stats().backlogRows).toBe(30);
    expect(outbox.inflight().map((b) => b.seq)).toEqual([1, 2]);
    expect(data(broker.received)).toEqual([]);

    broker.refusePublish = undefined;
    await waitFor('delivery', () => outbox.stats().backlogRows === 0);
    expect(bySeq(broker.received).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('treats an MQTT 5 PUBACK with a failure reason code as no ack', async () => {
    const broker = new Mqtt5TestBroker();
    await broker.start();
    cleanups.push(() => broker.stop());
    broker.pubackReasonCode = (topic) => (topic.endsWith('/telemetry') ? 0x87 : 0);
    const outbox = makeOutbox();
    outbox.appendReadings(readings(0, 5));
    outbox.flush();
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url });
    forwarder.start();
    await waitFor('a refusal', () => forwarder.stats().rejected >= 1);
    expect(forwarder.stats()).toMatchObject({ protocolVersion: 5, acked: 0 });
    expect(forwarder.stats().lastError).toMatch(/not authorized/i);
    expect(outbox.stats().backlogRows).toBe(5);
    expect(outbox.inflight().map((b) => b.seq)).toEqual([1]);

    broker.pubackReasonCode = () => 0;
    await waitFor('delivery', () => outbox.stats().backlogRows === 0);
    const telemetry = broker.received.filter((m) => m.topic.endsWith('/telemetry'));
    expect(new Set(telemetry.map((m) => m.payload)).size).toBe(1);
    expect(telemetry.at(-1)).toMatchObject({ reasonCode: 0 });
    expect((JSON.parse(telemetry[0]!.payload) as TelemetryMessage).seq).toBe(1);
  });

  it('never throws on an unreachable broker and stops cleanly', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const outbox = makeOutbox();
    const forwarder = makeForwarder(outbox, { brokerUrl: `mqtt://127.0.0.1:${port}` });
    forwarder.start();
    await waitFor('retries', () => forwarder.stats().reconnects >= 3);
    expect(forwarder.stats().lastError).toMatch(/ECONNREFUSED/);
    await forwarder.stop();
    expect(forwarder.stats().connected).toBe(false);
  });

  it('reads the password from passwordFile and names the config field of a missing TLS file', async () => {
    const outbox = makeOutbox();
    const missing = makeForwarder(outbox, { brokerUrl: 'mqtts://127.0.0.1:1', tls: { caFile: join(dir, 'nope.pem'), rejectUnauthorized: true } });
    expect(() => missing.start()).toThrow(expect.objectContaining({ code: 'EDGE_FORWARD_CONFIG', message: expect.stringContaining('forwarding.tls.caFile') }));

    let seen: string | undefined;
    const broker = await startBroker(new TestBroker({ authenticate: (_c, _u, pass, done) => ((seen = pass?.toString()), done(null, true)) }));
    writeFileSync(join(dir, 'pw'), 'from-file\n');
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url, username: 'gw-1', passwordFile: join(dir, 'pw') });
    forwarder.start();
    await waitFor('connect', () => forwarder.stats().connected);
    expect(seen).toBe('from-file');
  });

  it('delivers messages of subscribed topics, also after a reconnect', async () => {
    const broker = await startBroker();
    const outbox = makeOutbox();
    const forwarder = makeForwarder(outbox, { brokerUrl: broker.url });
    const got: string[] = [];
    forwarder.subscribe('edge/v1/gw-1/cmd', (_topic, payload) => got.push(payload.toString()));
    forwarder.start();
    await waitFor('connect', () => forwarder.stats().connected);
    const publish = (payload: string) => broker.broker!.publish({ cmd: 'publish', topic: 'edge/v1/gw-1/cmd', payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => undefined);
    await waitFor('first command', () => (publish('one'), got.includes('one')));
    broker.dropClient('gw-1');
    await waitFor('reconnect', () => forwarder.stats().reconnects >= 1 && forwarder.stats().connected);
    await waitFor('second command', () => (publish('two'), got.includes('two')));
  });

  it('fails over through brokerUrls when its node dies, and on round the list: nothing lost, in order', async () => {
    const nodes = [await startBroker(), await startBroker(), await startBroker()];
    const outbox = makeOutbox();
    const fwd = makeForwarder(outbox, { brokerUrl: nodes[0]!.url, brokerUrls: [nodes[1]!.url, nodes[2]!.url] });
    const drained = () => outbox.stats().backlogRows === 0 && outbox.stats().pending === 0;
    fwd.start();
    outbox.appendReadings(readings(0, 10));
    await waitFor('delivery to the first node', drained);
    expect(fwd.stats().brokerUrl).toBe(nodes[0]!.url);
    await nodes[0]!.stop();
    outbox.appendReadings(readings(10, 10));
    await waitFor('delivery to the second node', () => drained() && fwd.stats().connected);
    expect(fwd.stats().brokerUrl).toBe(nodes[1]!.url);
    // The first node comes back, the second and third die: the list wraps round.
    await nodes[0]!.start();
    await nodes[1]!.stop();
    await nodes[2]!.stop();
    outbox.appendReadings(readings(20, 10));
    await waitFor('delivery to the first node again', () => drained() && fwd.stats().connected, 15_000);
    expect(fwd.stats().brokerUrl).toBe(nodes[0]!.url);
    const all = nodes.flatMap((n) => n.received);
    expect(values(bySeq(all))).toEqual(readings(0, 30).map((r) => r.v));
    expect(logs.filter((l) => l.msg === 'connected to the broker').map((l) => l.broker)).toEqual(expect.arrayContaining([nodes[0]!.url, nodes[1]!.url]));
  });

  it('speaks MQTT 3.1.1 to a broker that closes an MQTT 5 CONNECT without answering (RabbitMQ 3.10)', async () => {
    const broker = await startBroker();
    // In front of aedes: a CONNECT of protocol level 5 is dropped unanswered, others are relayed.
    const levels: number[] = [];
    const front = createServer((sock) => {
      sock.once('data', (first) => {
        const lengthBytes = [...first.subarray(1, 5)].findIndex((b) => (b & 0x80) === 0) + 1;
        const level = first[1 + lengthBytes + 6]!;
        levels.push(level);
        if (level === 5) return sock.destroy();
        const upstream = createConnection(broker.port, '127.0.0.1', () => upstream.write(first));
        sock.pipe(upstream).pipe(sock);
        upstream.on('error', () => sock.destroy());
        sock.on('error', () => upstream.destroy());
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => front.close(() => r())));
    const outbox = makeOutbox();
    const fwd = makeForwarder(outbox, { brokerUrl: `mqtt://127.0.0.1:${(front.address() as AddressInfo).port}` });
    fwd.start();
    outbox.appendReadings(readings(0, 5));
    await waitFor('delivery over 3.1.1', () => fwd.stats().connected && outbox.stats().backlogRows === 0 && outbox.stats().pending === 0);
    expect(fwd.stats().protocolVersion).toBe(4);
    expect(levels.slice(0, 2)).toEqual([5, 4]);
  });

  it('moves to another broker in place: subscriptions, retained state and the backlog carry over', async () => {
    const a = await startBroker();
    const b = await startBroker();
    const outbox = makeOutbox();
    const fwd = makeForwarder(outbox, { brokerUrl: a.url });
    const got: string[] = [];
    fwd.subscribe('edge/v1/gw-1/cmd', (_t, payload) => got.push(payload.toString()));
    fwd.session.retain(Channel.configReport, '{"state":"committed"}');
    fwd.start();
    outbox.appendReadings(readings(0, 10));
    await waitFor('delivery to the first broker', () => outbox.stats().backlogRows === 0 && outbox.stats().pending === 0);
    await fwd.session.reconfigure(ForwardingConfig.parse({ brokerUrl: b.url, reconnectMinMs: 100, reconnectMaxMs: 1000 }), 'reconnect');
    outbox.appendReadings(readings(10, 10));
    await waitFor('delivery to the second broker', () => outbox.stats().backlogRows === 0 && outbox.stats().pending === 0);
    expect(values(bySeq(b.received))).toEqual(readings(10, 10).map((r) => r.v));
    expect(b.published.find((m) => m.topic === 'edge/v1/gw-1/config/report')).toMatchObject({ retain: true, payload: '{"state":"committed"}' });
    // the first broker heard a clean goodbye
    expect(statuses(a.published).at(-1)).toMatchObject({ state: 'offline' });
    const publish = (payload: string) => b.broker!.publish({ cmd: 'publish', topic: 'edge/v1/gw-1/cmd', payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => undefined);
    await waitFor('a command through the second broker', () => (publish('three'), got.includes('three')));
  });
});
