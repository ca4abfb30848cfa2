import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACL_A, PUBLISH_ALLOWED, PUBLISH_DENIED, SUBSCRIBE_ALLOWED, SUBSCRIBE_DENIED } from './testing/acl-cases.js';
import { AuditLog, MemoryCredentials, quiet } from './testing/mqtt-test-kit.js';
import { RabbitmqAuthBackend } from './rabbitmq-auth.js';
import { INGEST_QUEUE, routingKeyToTopic, topicToRoutingKey } from './rabbitmq-topology.js';

/** The registry's rabbitmq_auth_backend_http endpoints over a real socket, as RabbitMQ asks them (form-encoded POST). */
describe('RabbitMQ HTTP auth endpoints', () => {
  const audit = new AuditLog();
  const credentials = new MemoryCredentials({ [ACL_A]: 'pass-a' });
  const backend = new RabbitmqAuthBackend({ credentials, audit: audit.sink, logger: quiet, accounts: [{ username: '_registry', password: 'svc-pass-1', role: 'service' }], secret: 's3cret' });
  const ask = async (path: string, form: Record<string, string>, base = backend.baseUrl): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
    return { status: res.status, body: await res.text() };
  };
  const topic = (username: string, permission: 'read' | 'write', t: string) => ask('topic', { username, vhost: '/', resource: 'topic', name: 'amq.topic', permission, routing_key: topicToRoutingKey(t) }).then((r) => r.body);

  beforeAll(() => backend.start());
  afterAll(() => backend.stop());

  it('answers only under the shared secret', async () => {
    expect(backend.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/broker\/rabbitmq\/s3cret$/);
    expect((await ask('user', { username: ACL_A, password: 'pass-a' }, backend.baseUrl.replace('/s3cret', ''))).status).toBe(404);
    expect((await ask('user', { username: ACL_A, password: 'pass-a' }, backend.baseUrl.replace('s3cret', 'guess'))).status).toBe(404);
  });

  it('logs in a gateway with its password and its own client id only; accounts with theirs', async () => {
    expect((await ask('user', { username: ACL_A, password: 'pass-a', client_id: ACL_A })).body).toBe('allow');
    expect((await ask('user', { username: ACL_A, password: 'pass-a' })).body).toBe('allow');
    expect((await ask('user', { username: ACL_A, password: 'wrong', client_id: ACL_A })).body).toBe('deny');
    expect((await ask('user', { username: ACL_A, password: 'pass-a', client_id: 'gw-b' })).body).toBe('deny');
    expect((await ask('user', { username: '_registry', password: 'svc-pass-1', client_id: '_registry-ingest' })).body).toBe('allow');
    expect((await ask('user', { username: '_registry', password: 'guess-123' })).body).toBe('deny');
    expect((await ask('user', { username: 'Not A Gateway', password: 'x' })).body).toBe('deny');
    expect(audit.of('mqtt.connect.denied').map((e) => e.actor)).toEqual(['gateway:gw-a', 'gateway:gw-a', 'account:_registry', 'unknown']);
    expect(JSON.stringify(audit.events)).not.toContain('guess-123');
  });

  it('decides topics with the broker ACL rule (the shared cases), routing keys mapped back to MQTT topics', async () => {
    for (const t of PUBLISH_ALLOWED) expect({ t, a: await topic(ACL_A, 'write', t) }).toEqual({ t, a: 'allow' });
    for (const t of PUBLISH_DENIED) expect({ t, a: await topic(ACL_A, 'write', t) }).toEqual({ t, a: 'deny' });
    for (const f of SUBSCRIBE_ALLOWED) expect({ f, a: await topic(ACL_A, 'read', f) }).toEqual({ f, a: 'allow' });
    for (const f of SUBSCRIBE_DENIED) expect({ f, a: await topic(ACL_A, 'read', f) }).toEqual({ f, a: 'deny' });
    expect(await topic('_registry', 'write', 'edge/v1/gw-a/config')).toBe('allow');
    expect(await topic('Nobody', 'write', 'edge/v1/gw-a/telemetry')).toBe('deny');
    expect(audit.of('mqtt.publish.denied').at(-1)).toMatchObject({ actor: 'gateway:gw-a', details: { topic: PUBLISH_DENIED.at(-1) } });
  });

  it('lets a gateway use amq.topic and its own MQTT subscription queues only; the service account anything', async () => {
    const res = (username: string, resource: string, name: string) => ask('resource', { username, vhost: '/', resource, name, permission: 'configure' }).then((r) => r.body);
    expect(await res(ACL_A, 'exchange', 'amq.topic')).toBe('allow');
    expect(await res(ACL_A, 'queue', `mqtt-subscription-${ACL_A}qos1`)).toBe('allow');
    expect(await res(ACL_A, 'queue', 'mqtt-subscription-gw-bqos1')).toBe('deny');
    expect(await res(ACL_A, 'queue', INGEST_QUEUE)).toBe('deny');
    expect(await res(ACL_A, 'exchange', 'amq.direct')).toBe('deny');
    expect(await res('_registry', 'queue', INGEST_QUEUE)).toBe('allow');
    expect((await ask('vhost', { username: ACL_A, vhost: '/' })).body).toBe('allow');
    expect((await ask('vhost', { username: ACL_A, vhost: 'other' })).body).toBe('deny');
  });

  it('denies (never a 5xx) when the credential store fails', async () => {
    const failing = new RabbitmqAuthBackend({ credentials: { verifyGatewayPassword: () => Promise.reject(new Error('db down')) }, audit: () => undefined, logger: quiet, accounts: [] });
    await failing.start();
    try {
      expect(await ask('user', { username: ACL_A, password: 'pass-a' }, failing.baseUrl)).toEqual({ status: 200, body: 'deny' });
    } finally {
      await failing.stop();
    }
  });

  it('maps topics and routing keys both ways as the MQTT plugin does', () => {
    expect(topicToRoutingKey('edge/v1/+/telemetry')).toBe('edge.v1.*.telemetry');
    expect(topicToRoutingKey('a.b/c/#')).toBe('a/b.c.#');
    expect(routingKeyToTopic('edge.v1.*.config.report')).toBe('edge/v1/+/config/report');
    expect(routingKeyToTopic('a/b.c.#')).toBe('a.b/c/#');
  });
});
