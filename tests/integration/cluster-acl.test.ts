import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topicFor } from '@cityedge/contract';
import { RabbitmqAuthBackend, type RabbitmqAuthPath } from '@cityedge/device-registry';
import { ACL_A, LOGIN_REFUSED, PUBLISH_ALLOWED, PUBLISH_DENIED, SUBSCRIBE_ALLOWED, SUBSCRIBE_DENIED } from '../../device-registry/src/broker/testing/acl-cases.js';
import { AuditLog, MemoryCredentials, TestClient, connackCode, quiet } from '../../device-registry/src/broker/testing/mqtt-test-kit.js';
import { RabbitCluster } from '@cityedge/test-support';

/**
 * Gateway identities and topic ACLs on the RabbitMQ cluster, decided by the registry through
 * rabbitmq_auth_backend_http (cached by rabbitmq_auth_backend_cache): the same cases as the
 * embedded broker and Mosquitto (acl-cases.ts). RabbitMQ 3.10 speaks MQTT 3.1.1 and closes the
 * connection on a denied PUBLISH or SUBSCRIBE (no 0x80 SUBACK); both count as refused here.
 */
describe('RabbitMQ cluster with the registry as auth backend', () => {
  const audit = new AuditLog();
  const credentials = new MemoryCredentials({ 'gw-a': 'pass-a', 'gw-b': 'pass-b' });
  const svc = { username: '_registry', password: 'service-secret-1' };
  const backend = new RabbitmqAuthBackend({ credentials, audit: audit.sink, logger: quiet, accounts: [{ ...svc, role: 'service' }], secret: 'shared-secret-1' });
  const questions: { path: RabbitmqAuthPath; params: Record<string, string>; answer: string }[] = [];
  let cluster: RabbitCluster;
  let service: TestClient;
  const clients: TestClient[] = [];
  let rotate = 0;
  /** Each login goes to the next node, so every node's view is exercised. */
  const nextUrl = (): string => cluster.mqttUrls[rotate++ % cluster.mqttUrls.length]!;
  const gatewayA = async (): Promise<TestClient> => {
    const c = await TestClient.connect(nextUrl(), ACL_A, 'pass-a', ACL_A);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const decide = backend.decide.bind(backend);
    backend.decide = async (path, params) => {
      const answer = await decide(path, params);
      questions.push({ path, params: Object.fromEntries([...params].filter(([k]) => k !== 'password')), answer });
      return answer;
    };
    await backend.start();
    cluster = new RabbitCluster({ auth: { kind: 'http', baseUrl: backend.baseUrl, cacheTtlMs: 1000 } });
    await cluster.start();
    service = await TestClient.connect(cluster.mqttUrls[2]!, svc.username, svc.password, `${svc.username}-watch`);
    expect(await service.subscribe('edge/v1/#')).toBe(1);
  }, 240_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });
  afterAll(async () => {
    await service?.end();
    await cluster?.stop();
    await backend.stop();
  }, 60_000);

  /** A fresh gateway-A session: the filter's granted QoS, or 'refused' (0x80 or the connection closed). */
  async function subscribeOutcome(filter: string): Promise<number | 'refused'> {
    const a = await gatewayA();
    const closed = a.waitClosed(30_000).then(() => 'refused' as const);
    const granted = await Promise.race([a.subscribe(filter).catch(() => 'refused' as const), closed]);
    return granted === 0x80 ? 'refused' : granted;
  }

  it('lets a gateway publish its telemetry, events, status and config report; the service account, on another node, gets them', async () => {
    const a = await gatewayA();
    for (const t of PUBLISH_ALLOWED) {
      await a.client.publishAsync(t, `ok ${t}`, { qos: 1 });
      await service.waitFor((m) => m.payload === `ok ${t}`, t, 20_000);
    }
    expect(questions.some((q) => q.path === 'topic' && q.answer === 'allow' && q.params.routing_key === 'edge.v1.gw-a.telemetry' && q.params.permission === 'write')).toBe(true);
  });

  it('drops the connection of a gateway publishing outside its own topics, delivers none of it, and audits it', async () => {
    const before = audit.of('mqtt.publish.denied').length;
    for (const t of PUBLISH_DENIED) {
      const a = await gatewayA();
      a.client.publish(t, 'forged', { qos: 1, retain: true });
      await a.waitClosed(30_000);
    }
    const sentinel = await gatewayA();
    await sentinel.client.publishAsync(topicFor(ACL_A, 'telemetry'), 'after the forgeries', { qos: 1 });
    await service.waitFor((m) => m.payload === 'after the forgeries', 'the sentinel', 20_000);
    expect(service.received.filter((m) => m.payload === 'forged')).toEqual([]);
    // Cached answers are not asked again, so at least one audit entry per distinct topic asked.
    expect(audit.of('mqtt.publish.denied').length - before).toBeGreaterThanOrEqual(1);
    expect(audit.of('mqtt.publish.denied').at(-1)).toMatchObject({ actor: 'gateway:gw-a' });
  });

  it('refuses a gateway subscribing to #, to another gateway\'s config or commands, or to wildcards over gateways', async () => {
    for (const f of SUBSCRIBE_DENIED) expect({ f, outcome: await subscribeOutcome(f) }).toEqual({ f, outcome: 'refused' });
    expect(audit.of('mqtt.subscribe.denied').length).toBeGreaterThanOrEqual(1);
  });

  it('lets a gateway subscribe to its own config and commands and delivers the registry\'s messages to it', async () => {
    const a = await gatewayA();
    for (const f of SUBSCRIBE_ALLOWED) expect({ f, granted: await a.subscribe(f) }).toEqual({ f, granted: 1 });
    await service.client.publishAsync(topicFor('gw-b', 'cmd'), 'cmd for b', { qos: 1 });
    await service.client.publishAsync(topicFor(ACL_A, 'cmd'), 'cmd for a', { qos: 1 });
    await a.waitFor((m) => m.payload === 'cmd for a', 'its command', 20_000);
    expect(a.received.map((m) => m.payload)).toEqual(['cmd for a']);
  });

  it('refuses a wrong password, an unknown gateway, an anonymous login and a client id other than the gateway id', async () => {
    for (const [user, pass, clientId, why] of LOGIN_REFUSED) {
      expect({ why, code: await connackCode(nextUrl(), user, pass, clientId) }).toEqual({ why, code: expect.any(Number) });
    }
    const denied = audit.of('mqtt.connect.denied');
    expect(denied.map((e) => e.actor)).toEqual(expect.arrayContaining(['gateway:gw-a', 'gateway:gw-unknown']));
    expect(JSON.stringify(denied)).not.toContain('secret-guess');
    expect(await connackCode(nextUrl(), ACL_A, 'pass-a', ACL_A)).toBeUndefined();
  });

  it('takes a decommissioned gateway\'s login away once the cache entry expires', async () => {
    credentials.passwords.set('gw-c', 'pass-c');
    expect(await connackCode(nextUrl(), 'gw-c', 'pass-c', 'gw-c')).toBeUndefined();
    credentials.passwords.delete('gw-c');
    await expect
      .poll(async () => (await connackCode(nextUrl(), 'gw-c', 'pass-c', 'gw-c')), { timeout: 30_000, interval: 250 })
      .toEqual(expect.any(Number));
  });
});
