import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signConfig, topicFor, verifySignedConfig } from '@cityedge/contract';
import { MqttConfigPublisher } from './config-publisher.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { AuditLog, MemoryCredentials, TestClient, quiet } from './testing/mqtt-test-kit.js';

describe('config publisher', () => {
  const key = generateSigningKey();
  const broker = new EmbeddedBroker({ port: 0, credentials: new MemoryCredentials({ 'gw-late': 'pw' }), audit: new AuditLog().sink, logger: quiet });
  let publisher: MqttConfigPublisher;

  beforeAll(async () => {
    await broker.start();
    publisher = new MqttConfigPublisher({ connection: broker.serviceConnection(), logger: quiet });
    await publisher.start();
  });
  afterAll(async () => {
    await publisher?.stop();
    await broker.stop();
  });

  it('delivers the latest signed config retained, at QoS 1, to a gateway that subscribes later', async () => {
    const v1 = signConfig({ gatewayId: 'gw-late', version: 1, config: { gateway: { id: 'gw-late' } } }, key.privateKeyPem);
    const v2 = signConfig({ gatewayId: 'gw-late', version: 2, config: { gateway: { id: 'gw-late' }, note: 'second' } }, key.privateKeyPem);
    await publisher.publish('gw-late', v1);
    await publisher.publish('gw-late', v2);
    const gw = await TestClient.connect(broker.url, 'gw-late', 'pw', 'gw-late');
    try {
      expect(await gw.subscribe(topicFor('gw-late', 'config'))).toBe(1);
      const got = await gw.waitFor((r) => r.retain, 'the retained config');
      const doc = verifySignedConfig(JSON.parse(got.payload), { gatewayId: 'gw-late', publicKeysPem: [key.publicKeyPem], minVersion: 0 });
      expect(doc.version).toBe(2);
      expect(gw.received).toHaveLength(1);
    } finally {
      await gw.end();
    }
  });

  it('clears the retained config', async () => {
    await publisher.clear('gw-late');
    const gw = await TestClient.connect(broker.url, 'gw-late', 'pw', 'gw-late');
    try {
      expect(await gw.subscribe(topicFor('gw-late', 'config'))).toBe(1);
      await publisher.publish('gw-late', signConfig({ gatewayId: 'gw-late', version: 3, config: {} }, key.privateKeyPem));
      await gw.waitFor((r) => r.payload.includes('"version":3'), 'the live config');
      expect(gw.received.map((r) => r.retain)).toEqual([false]);
      await publisher.clear('gw-late');
    } finally {
      await gw.end();
    }
  });

  it('refuses a document signed for another gateway', async () => {
    const other = signConfig({ gatewayId: 'gw-other', version: 1, config: {} }, key.privateKeyPem);
    await expect(publisher.publish('gw-late', other)).rejects.toMatchObject({ code: 'REG_BROKER_CONFIG' });
  });

  it('fails at start with REG_BROKER_AUTH when the service password is wrong', async () => {
    const bad = new MqttConfigPublisher({ connection: { ...broker.serviceConnection(), password: 'nope' }, logger: quiet });
    await expect(bad.start()).rejects.toMatchObject({ code: 'REG_BROKER_AUTH' });
  });
});
