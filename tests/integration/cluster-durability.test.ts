import amqp from 'amqplib';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareIngestQueue, INGEST_QUEUE, routingKeyToTopic } from '@cityedge/device-registry';
import { RabbitCluster, waitUntil } from '@cityedge/test-support';

/**
 * The province's promise: a PUBACK a gateway receives from the cluster means the reading is in
 * the replicated ingest queue (a quorum queue: the MQTT plugin sends PUBACK on the publisher
 * confirm, which a quorum queue gives once a majority of its members has the message), so it
 * survives the death of any one node, even the queue leader's.
 */
describe('PUBACK over the RabbitMQ cluster survives a node killed -9', () => {
  const cluster = new RabbitCluster();

  beforeAll(async () => {
    await cluster.start();
    const conn = await amqp.connect(cluster.amqpUrls[0]!);
    await declareIngestQueue(await conn.createChannel());
    await conn.close();
  }, 240_000);
  afterAll(async () => {
    await cluster.stop();
  }, 60_000);

  /** The node index that leads the ingest queue now. */
  async function leaderIndex(): Promise<number> {
    const via = cluster.nodes.findIndex((n) => cluster.isRunning(n.index));
    const rows = JSON.parse(await cluster.ctl(via, ['list_queues', 'name', 'type', 'leader', 'members', '--formatter', 'json'])) as { name: string; type: string; leader: string; members: string[] }[];
    const q = rows.find((r) => r.name === INGEST_QUEUE)!;
    expect(q.type).toBe('quorum');
    expect(q.members.sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
    return cluster.nodes.findIndex((n) => n.name === q.leader);
  }

  /** Publishes readings seq = next.. with up to 20 in flight; records every PUBACKed seq; stops when the client dies or `until` holds. */
  async function publish(client: MqttClient, seqs: { next: number }, acked: Set<number>, until: () => boolean): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    let dead = false;
    // A QoS 1 publish in flight when the connection dies is never PUBACKed: drop it.
    client.on('close', () => {
      dead = true;
      client.end(true);
    });
    while (!dead && !until()) {
      const seq = seqs.next++;
      const p = client
        .publishAsync('edge/v1/gw-dur/telemetry', JSON.stringify({ gw: 'gw-dur', seq }), { qos: 1 })
        .then(() => void acked.add(seq))
        .catch(() => undefined)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      while (inFlight.size >= 20 && !dead) await Promise.race(inFlight);
    }
    if (!dead) await Promise.all(inFlight);
  }

  it('loses no PUBACKed reading when the node of the queue leader, which the gateway is connected to, is killed mid-stream', async () => {
    const leader = await leaderIndex();
    const other = (leader + 1) % 3;
    const consumerNode = (leader + 2) % 3;
    const auth = { username: cluster.user, password: cluster.password, protocolVersion: 4 as const, reconnectPeriod: 0, clean: true };
    const acked = new Set<number>();
    const seqs = { next: 1 };

    const first = await connectAsync(cluster.nodes[leader]!.mqttUrl, { ...auth, clientId: 'gw-dur' });
    first.on('error', () => undefined);
    const streaming = publish(first, seqs, acked, () => false);
    await waitUntil(() => acked.size >= 300, 60_000, '300 PUBACKed readings');
    await cluster.kill(leader);
    await streaming;
    const sentBeforeKill = seqs.next - 1;
    expect(acked.size).toBeLessThanOrEqual(sentBeforeKill);

    // The gateway fails over to another node and goes on; the queue elects a new leader.
    const second = await connectAsync(cluster.nodes[other]!.mqttUrl, { ...auth, clientId: 'gw-dur' });
    const target = acked.size + 200;
    await publish(second, seqs, acked, () => acked.size >= target);
    await second.endAsync();

    // An independent consumer on the third node counts by sequence.
    const conn = await amqp.connect(cluster.amqpUrls[consumerNode]!);
    const ch = await conn.createChannel();
    const seen = new Set<number>();
    const topics = new Set<string>();
    await ch.consume(INGEST_QUEUE, (m) => {
      if (!m) return;
      topics.add(routingKeyToTopic(m.fields.routingKey));
      seen.add((JSON.parse(m.content.toString()) as { seq: number }).seq);
      ch.ack(m);
    });
    await waitUntil(() => [...acked].every((s) => seen.has(s)), 60_000, 'every PUBACKed reading in the queue');
    await conn.close();
    expect([...acked].filter((s) => !seen.has(s))).toEqual([]);
    expect([...topics]).toEqual(['edge/v1/gw-dur/telemetry']);
    expect(await leaderIndex()).not.toBe(leader);
  }, 240_000);
});
