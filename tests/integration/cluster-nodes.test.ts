import { execFileSync } from 'node:child_process';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitCluster } from '@cityedge/test-support';

/** Listening sockets (`ss -ltnp`) of one process: local address and port. */
function listenersOf(pid: number): string[] {
  const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3]!);
}

/** The three-node RabbitMQ cluster the province layout runs on, as the test suite starts it. */
describe('RabbitMQ cluster on loopback', () => {
  const cluster = new RabbitCluster();

  beforeAll(async () => {
    await cluster.start();
  }, 240_000);
  afterAll(async () => {
    await cluster.stop();
  }, 60_000);

  it('forms one cluster of three nodes, every listener (AMQP, MQTT, distribution) on 127.0.0.1 only', async () => {
    expect((await cluster.runningNodes(0)).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
    for (const n of cluster.nodes) {
      const listeners = listenersOf(cluster.pid(n.index)!);
      expect(listeners.sort()).toEqual([n.amqpPort, n.distPort, n.mqttPort].map((p) => `127.0.0.1:${p}`).sort());
    }
  });

  it('carries MQTT between nodes, and a node killed -9 comes back into the cluster', async () => {
    const auth = { username: cluster.user, password: cluster.password, protocolVersion: 4 as const, reconnectPeriod: 0 };
    const sub = await connectAsync(cluster.nodes[2]!.mqttUrl, { ...auth, clientId: 'sub-node3' });
    const pub = await connectAsync(cluster.nodes[0]!.mqttUrl, { ...auth, clientId: 'pub-node1' });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('edge/v1/+/telemetry', { qos: 1 });
    await pub.publishAsync('edge/v1/gw-x/telemetry', 'hello', { qos: 1 });
    await expect.poll(() => got, { timeout: 20_000 }).toEqual(['hello']);
    await pub.endAsync();
    await sub.endAsync();

    await cluster.kill(1);
    expect((await cluster.runningNodes(0)).sort()).toEqual([cluster.nodes[0]!.name, cluster.nodes[2]!.name].sort());
    await cluster.startNode(1);
    expect((await cluster.runningNodes(0)).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
    const again = await connectAsync(cluster.nodes[1]!.mqttUrl, { ...auth, clientId: 'after-restart' });
    await again.endAsync();
  }, 240_000);
});
