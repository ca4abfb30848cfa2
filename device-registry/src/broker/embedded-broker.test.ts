import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topicFor } from '@cityedge/contract';
import { EmbeddedBroker } from './embedded-broker.js';
import { PUBLISH_DENIED, SUBSCRIBE_DENIED } from './testing/acl-cases.js';
import { AuditLog, MemoryCredentials, TestClient, connackCode, quiet, waitUntil } from './testing/mqtt-test-kit.js';

const A = 'gw-a';
const B = 'gw-b';

describe('embedded broker: identity and topic ACLs (reliability case 8)', () => {
  const creds = new MemoryCredentials({ [A]: 'pass-a', [B]: 'pass-b' });
  const audit = new AuditLog();
  const broker = new EmbeddedBroker({
    port: 0,
    credentials: creds,
    audit: audit.sink,
    logger: quiet,
    accounts: [{ username: '_dashboard', password: 'dash-pass', role: 'consumer' }],
  });
  let service: TestClient;
  const clients: TestClient[] = [];

  const gateway = async (id: string, password: string, clientId = id): Promise<TestClient> => {
    const c = await TestClient.connect(broker.url, id, password, clientId);
    clients.push(c);
    return c;
  };

  /** Publishes from a legitimate gateway and waits until the service saw it: everything sent before has been routed. */
  const barrier = async (): Promise<void> => {
    const b = await gateway(B, 'pass-b');
    const marker = `barrier-${Math.random()}`;
    await b.client.publishAsync(topicFor(B, 'events'), marker, { qos: 1 });
    await service.waitFor((r) => r.payload === marker, 'the barrier message');
  };

  beforeAll(async () => {
    await broker.start();
    const conn = broker.serviceConnection('_registry-test');
    service = await TestClient.connect(conn.url, conn.username, conn.password, conn.clientId!);
    expect(await service.subscribe('edge/v1/#')).toBe(1);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });
  afterAll(async () => {
    await service?.end();
    await broker.stop();
  });

  it('lets a gateway publish telemetry, events, status and its config report under its own id', async () => {
    const a = await gateway(A, 'pass-a');
    for (const ch of ['telemetry', 'events', 'status', 'config/report'] as const) {
      await a.client.publishAsync(topicFor(A, ch), `hello ${ch}`, { qos: 1 });
      await service.waitFor((r) => r.topic === topicFor(A, ch) && r.payload === `hello ${ch}`, `${ch} from gw-a`);
    }
    expect(a.closed).toBe(false);
  });

  it('refuses a wrong password, an unknown gateway and a missing username, and audits each', async () => {
    const before = audit.of('mqtt.connect.denied').length;
    expect(await connackCode(broker.url, A, 'secret-guess-1', A)).toBe(4);
    expect(await connackCode(broker.url, 'gw-unknown', 'x', 'gw-unknown')).toBe(4);
    expect(await connackCode(broker.url, undefined, undefined, 'anon')).toBe(4);
    expect(await connackCode(broker.url, '_registry', 'secret-guess-2', '_registry')).toBe(4);
    const denied = audit.of('mqtt.connect.denied').slice(before);
    expect(denied.map((e) => e.actor)).toEqual(['gateway:gw-a', 'gateway:gw-unknown', 'unknown', 'account:_registry']);
    expect(JSON.stringify(denied)).not.toContain('secret-guess');
  });

  it('refuses a gateway whose client id is not its username', async () => {
    expect(await connackCode(broker.url, A, 'pass-a', B)).toBe(2);
    expect(await connackCode(broker.url, A, 'pass-a', 'mqttjs_1234')).toBe(2);
    expect(audit.of('mqtt.connect.denied').at(-1)).toMatchObject({ actor: 'gateway:gw-a', details: { clientId: 'mqttjs_1234', reason: 'client id must equal the gateway id' } });
  });

  it('does not deliver a publish to another gateway\'s topic, drops the connection and audits it', async () => {
    const a = await gateway(A, 'pass-a');
    a.client.publish(topicFor(B, 'telemetry'), 'forged', { qos: 1 });
    await a.waitClosed();
    await barrier();
    expect(service.received.some((r) => r.payload === 'forged')).toBe(false);
    expect(audit.of('mqtt.publish.denied').at(-1)).toMatchObject({ actor: 'gateway:gw-a', details: { topic: 'edge/v1/gw-b/telemetry', clientId: A } });
  });

  it('does not let a gateway write its own config or send a command, to itself or another', async () => {
    for (const topic of [...PUBLISH_DENIED, '$SYS/x']) {
      const a = await gateway(A, 'pass-a');
      a.client.publish(topic, 'forged', { qos: 1, retain: true });
      await a.waitClosed();
    }
    await barrier();
    expect(service.received.filter((r) => r.payload === 'forged')).toEqual([]);
    const late = await TestClient.connect(broker.url, B, 'pass-b', B);
    clients.push(late);
    expect(await late.subscribe(topicFor(B, 'config'))).toBe(1);
    expect(await late.subscribe(topicFor(B, 'cmd'))).toBe(1);
    await barrier();
    expect(late.received).toEqual([]);
  });

  it('answers 0x80 to a gateway subscribing to #, to another gateway\'s config or commands, or to a wildcard over gateways', async () => {
    await service.client.publishAsync(topicFor(B, 'config'), 'config of b', { qos: 1, retain: true });
    const a = await gateway(A, 'pass-a');
    const before = audit.of('mqtt.subscribe.denied').length;
    const denied = [...SUBSCRIBE_DENIED, '$share/g/edge/v1/gw-a/config', '$SYS/#'];
    for (const filter of denied) {
      expect({ filter, granted: await a.subscribe(filter) }).toEqual({ filter, granted: 0x80 });
    }
    expect(audit.of('mqtt.subscribe.denied').length - before).toBe(denied.length);
    expect(await a.subscribe(topicFor(A, 'config'))).toBe(1);
    await service.client.publishAsync(topicFor(B, 'cmd'), 'cmd for b', { qos: 1 });
    await service.client.publishAsync(topicFor(A, 'config'), 'config of a', { qos: 1, retain: true });
    await a.waitFor((r) => r.payload === 'config of a', 'its own config');
    expect(a.received.map((r) => r.payload)).toEqual(['config of a']);
    expect(a.closed).toBe(false);
    await service.client.publishAsync(topicFor(A, 'config'), '', { qos: 1, retain: true });
    await service.client.publishAsync(topicFor(B, 'config'), '', { qos: 1, retain: true });
  });

  it('lets a gateway read its own config (retained) and the commands the registry publishes to it', async () => {
    await service.client.publishAsync(topicFor(A, 'config'), 'signed config', { qos: 1, retain: true });
    const a = await gateway(A, 'pass-a');
    expect(await a.subscribe(topicFor(A, 'config'))).toBe(1);
    expect(await a.subscribe(topicFor(A, 'cmd'))).toBe(1);
    expect(await a.subscribe(`${topicFor(A, 'cmd')}/#`)).toBe(1);
    await a.waitFor((r) => r.payload === 'signed config' && r.retain, 'the retained config');
    // The registry's own identity may publish commands: QoS 1, not retained.
    await service.client.publishAsync(topicFor(A, 'cmd'), 'a command', { qos: 1 });
    await a.waitFor((r) => r.payload === 'a command' && !r.retain, 'a command');
    await service.client.publishAsync(`${topicFor(A, 'cmd')}/ping`, 'ping', { qos: 1 });
    await a.waitFor((r) => r.payload === 'ping', 'a command below cmd');
    expect(a.closed).toBe(false);
    await service.client.publishAsync(topicFor(A, 'config'), '', { qos: 1, retain: true });
  });

  it('does not publish a last will set on another gateway\'s status', async () => {
    const will = { topic: topicFor(B, 'status'), payload: Buffer.from('forged will'), qos: 1 as const, retain: true };
    const w = await TestClient.connect(broker.url, A, 'pass-a', A, { will });
    const before = audit.of('mqtt.publish.denied').length;
    (w.client.stream as { destroy(): void }).destroy();
    await waitUntil(() => audit.of('mqtt.publish.denied').length > before, 'the will to be refused');
    await barrier();
    expect(service.received.some((r) => r.payload === 'forged will')).toBe(false);
    expect(audit.of('mqtt.publish.denied').at(-1)).toMatchObject({ actor: 'gateway:gw-a', details: { topic: topicFor(B, 'status') } });
  });

  it('publishes a gateway\'s own last will', async () => {
    const will = { topic: topicFor(A, 'status'), payload: Buffer.from('{"state":"offline"}'), qos: 1 as const, retain: false };
    const w = await TestClient.connect(broker.url, A, 'pass-a', A, { will });
    (w.client.stream as { destroy(): void }).destroy();
    await service.waitFor((r) => r.topic === topicFor(A, 'status') && r.payload === '{"state":"offline"}', 'the last will');
  });

  it('gives a consumer account read access to gateway channels and nothing else', async () => {
    const d = await TestClient.connect(broker.url, '_dashboard', 'dash-pass', '_dashboard-1');
    clients.push(d);
    expect(await d.subscribe('edge/v1/+/telemetry')).toBe(1);
    expect(await d.subscribe(topicFor(A, 'status'))).toBe(1);
    expect(await d.subscribe('#')).toBe(0x80);
    expect(await d.subscribe('edge/v1/+/config')).toBe(0x80);
    expect(await d.subscribe('edge/v1/+/+')).toBe(0x80);
    expect(await connackCode(broker.url, '_dashboard', 'dash-pass', A)).toBe(2);
    d.client.publish(topicFor(A, 'telemetry'), 'from the dashboard', { qos: 1 });
    await d.waitClosed();
    await barrier();
    expect(service.received.some((r) => r.payload === 'from the dashboard')).toBe(false);
  });

  it('refuses $share on the embedded broker (aedes has no shared subscriptions) instead of silently matching nothing', async () => {
    expect(await service.subscribe('$share/ingest/edge/v1/+/telemetry')).toBe(0x80);
    expect(audit.of('mqtt.subscribe.denied').at(-1)?.details.reason).toMatch(/no shared subscriptions/);
  });

  it('drops the live session of a decommissioned gateway and refuses it afterwards', async () => {
    const a = await gateway(A, 'pass-a');
    creds.passwords.delete(A);
    await broker.deprovisionGateway(A);
    await a.waitClosed();
    expect(await connackCode(broker.url, A, 'pass-a', A)).toBe(4);
    creds.passwords.set(A, 'pass-a');
  });

  it('keeps working when the audit sink fails, and counts denials', async () => {
    const failing = new EmbeddedBroker({ port: 0, credentials: creds, audit: () => Promise.reject(new Error('db down')), logger: quiet });
    await failing.start();
    try {
      expect(await connackCode(failing.url, A, 'nope', A)).toBe(4);
      const c = await TestClient.connect(failing.url, A, 'pass-a', A);
      expect(await c.subscribe('#')).toBe(0x80);
      await c.end();
      expect(failing.stats()).toMatchObject({ connectDenied: 1, subscribeDenied: 1 });
    } finally {
      await failing.stop();
    }
  });

  it('refuses an address after too many failed logins, before checking any password', async () => {
    let failures = 0;
    const limiter = { peek: () => (failures >= 2 ? 60 : 0), hit: () => ++failures };
    const limited = new EmbeddedBroker({ port: 0, credentials: creds, audit: () => undefined, logger: quiet, loginLimiter: limiter });
    await limited.start();
    try {
      expect(await connackCode(limited.url, A, 'nope-1', A)).toBe(4);
      expect(await connackCode(limited.url, A, 'nope-2', A)).toBe(4);
      const calls = creds.calls;
      expect(await connackCode(limited.url, A, 'pass-a', A)).toBe(5);
      expect(creds.calls).toBe(calls);
    } finally {
      await limited.stop();
    }
  });

  it('refuses an account name that could be a gateway id', async () => {
    const bad = new EmbeddedBroker({ port: 0, credentials: creds, audit: () => undefined, logger: quiet, accounts: [{ username: 'ops', password: 'x', role: 'service' }] });
    await expect(bad.start()).rejects.toMatchObject({ code: 'REG_BROKER_CONFIG' });
  });
});
