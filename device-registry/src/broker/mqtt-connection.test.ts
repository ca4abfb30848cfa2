import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { eventually, quiet, TestBroker } from '@cityedge/test-support';
import { openMqtt } from './mqtt-connection.js';

describe('the registry\'s own MQTT sessions', () => {
  const brokers: TestBroker[] = [];
  let client: MqttClient | undefined;
  afterEach(async () => {
    await client?.endAsync(true);
    for (const b of brokers.splice(0)) await b.stop();
  });

  it('move to the next node of a cluster when theirs dies, and round the list', async () => {
    const [n1, n2] = [new TestBroker(), new TestBroker()];
    brokers.push(n1, n2);
    await n1.start();
    await n2.start();
    client = await openMqtt({ url: n1.url, otherUrls: [n2.url], username: '_registry', password: 'pw', protocolVersion: 4 }, { logger: quiet, role: 'config' });
    await client.publishAsync('probe/1', 'on node 1', { qos: 1 });
    expect(n1.received.map((m) => m.payload)).toEqual(['on node 1']);

    await n1.stop(); // the node dies: the session comes back on node 2
    await eventually(async () => (n2.connectAttempts > 0 && client!.connected ? true : undefined), 10_000, 'the session on node 2');
    await client.publishAsync('probe/2', 'on node 2', { qos: 1 });
    expect(n2.received.map((m) => m.payload)).toEqual(['on node 2']);

    await n1.start(); // node 1 back, node 2 dies: round the list to node 1
    const attempts = n1.connectAttempts;
    await n2.stop();
    await eventually(async () => (client!.connected && n1.connectAttempts > attempts ? true : undefined), 10_000, 'the session back on node 1');
    await client.publishAsync('probe/3', 'on node 1 again', { qos: 1 });
    expect(n1.received.map((m) => m.payload)).toEqual(['on node 1', 'on node 1 again']);
  });
});
