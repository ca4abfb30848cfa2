import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicFor } from '@cityedge/contract';
import { connectRabbitmq, RegistryClient, startCentral, type Central } from '@cityedge/device-registry';
import { Agent, enroll, resolveManagedDocument, type Identity } from '@cityedge/edge-agent';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { RabbitCluster } from '@cityedge/test-support';
import { TestClient } from '../../device-registry/src/broker/testing/mqtt-test-kit.js';
import { TelemetryConsumer } from '../support/consumer.js';
import { eventually, quiet, tempDir, waitUntil } from '../support/fixtures.js';

const ADMIN = 'integration-admin-token-0123';

/**
 * The province path on the RabbitMQ cluster: the registry (`--broker rabbitmq`) is the cluster's
 * auth backend and publishes configurations through node 1; a gateway enrolled with node 2's URL
 * and told every node's URL gets its configuration although RabbitMQ keeps retained messages per
 * node (it fetches it over HTTP with the ETag on every connection), forwards telemetry, and when
 * its node is killed -9 fails over to another node with nothing lost.
 */
describe('registry and agent over the RabbitMQ cluster', () => {
  const cluster = new RabbitCluster();
  let central: Central;
  let closeAuth: () => Promise<void> = async () => undefined;
  let sim: Simulation;
  let agent: Agent | undefined;
  let api: RegistryClient;
  let consumer: TelemetryConsumer;
  let identity: Identity;

  beforeAll(async () => {
    await cluster.allocate();
    const dataDir = tempDir('cityedge-central-');
    const [n1, n2, n3] = cluster.mqttUrls as [string, string, string];
    const broker = await connectRabbitmq({ url: n1, dataDir, logger: quiet });
    closeAuth = broker.close;
    cluster.auth = { kind: 'http', baseUrl: broker.auth.baseUrl, cacheTtlMs: 2000 };
    await cluster.start();
    central = await startCentral({ dataDir, logger: quiet, http: { host: '127.0.0.1', port: 0 }, broker, brokerPublicUrl: n2, brokerPublicUrls: [n2, n3, n1], adminToken: ADMIN, documentDefaults: { ota: { healthWindowMs: 1500 }, http: { enabled: false }, forwarding: { reconnectMinMs: 500, reconnectMaxMs: 2000 } } });
    api = new RegistryClient({ baseUrl: central.url, token: ADMIN });
    sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'th', model: 'sht20', unitId: 1 }] }] }, { logger: quiet });
    // The independent consumer sits on node 3, which is not killed.
    consumer = new TelemetryConsumer(n3, 'edge/v1', { username: cluster.user, password: cluster.password });
    await consumer.start();
  }, 240_000);

  afterAll(async () => {
    await agent?.stop();
    await consumer?.stop();
    await sim?.stop();
    await central?.stop();
    await closeAuth();
    await cluster.stop(Boolean(process.env.KEEP_RABBIT));
  }, 60_000);

  it('delivers a configuration published on node 1 to a gateway on node 2, where the retained copy is not', async () => {
    await api.createSite({ id: 'site-p', name: 'Province', timeZone: 'Asia/Ho_Chi_Minh' });
    const { enrollment } = await api.createGateway({ id: 'gw-prov', siteId: 'site-p' });
    identity = await enroll({ registryUrl: central.url, code: enrollment.code, stateDir: tempDir('cityedge-gw-prov-') });
    expect(identity.mqtt.url).toBe(cluster.mqttUrls[1]);
    await api.putLine('gw-prov', 'bus', { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port! });
    await api.addDevice('gw-prov', { id: 'th', lineId: 'bus', profile: 'sht20', unitId: 1, pollIntervalMs: 100 });
    const { version } = await api.pushConfig('gw-prov');

    // RabbitMQ 3.10 keeps retained messages on the node they were published to: node 2 has none.
    const probe = await TestClient.connect(cluster.mqttUrls[1]!, identity.mqtt.username, identity.mqtt.password, 'gw-prov');
    expect(await probe.subscribe(topicFor('gw-prov', 'config'))).toBe(1);
    const onNode1 = await TestClient.connect(cluster.mqttUrls[0]!, cluster.user, cluster.password, 'retained-check');
    expect(await onNode1.subscribe(topicFor('gw-prov', 'config'))).toBe(1);
    await onNode1.waitFor((m) => m.retain, 'the retained configuration on node 1', 20_000);
    await onNode1.end();
    expect(probe.received).toEqual([]);
    await probe.end();

    const stateDir = tempDir('cityedge-gw-prov-run-');
    const boot = await resolveManagedDocument({ gateway: { id: 'gw-prov' }, lines: [], http: { enabled: false } }, identity, stateDir);
    if (!boot.ok) throw new Error('bootstrap');
    agent = new Agent({ resolved: boot.value, stateDir, logger: quiet, managed: { identity, resolveDocument: (d) => resolveManagedDocument(d, identity, stateDir) } });
    await agent.start();
    await eventually(async () => (await api.listConfigs('gw-prov')).find((c) => c.version === version && c.state === 'committed'), 60_000, 'the configuration committed');
    expect(agent.session.stats()).toMatchObject({ connected: true, brokerUrl: cluster.mqttUrls[1], protocolVersion: 4 });
    await waitUntil(() => consumer.readings.some((r) => r.dev === 'th' && r.q === 'good'), 30_000, 'telemetry through the cluster');
  }, 180_000);

  it('fails over to another node when its node is killed -9, and loses no reading', async () => {
    const a = agent!;
    const node = cluster.mqttUrls.indexOf(a.session.stats().brokerUrl);
    expect(node).toBe(1);
    const before = consumer.seen.get('gw-prov')?.size ?? 0;
    await cluster.kill(node);
    await waitUntil(() => a.session.stats().connected && a.session.stats().brokerUrl !== cluster.mqttUrls[node], 60_000, 'the agent on another node');
    const maxBefore = Math.max(...(consumer.seen.get('gw-prov') ?? [0]));
    await waitUntil(() => Math.max(...(consumer.seen.get('gw-prov') ?? [0])) > maxBefore + 20, 60_000, 'telemetry after the failover');
    expect(consumer.seen.get('gw-prov')!.size).toBeGreaterThan(before);
    expect(consumer.gaps('gw-prov')).toEqual([]);
    // The registry's own ingest (connected to node 1) stored them too.
    const stored = await eventually(async () => {
      const r = await fetch(`${central.url}/v1/gateways/gw-prov/readings?device=th&limit=5`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const body = (await r.json()) as { readings?: unknown[] };
      return r.ok && (body.readings?.length ?? 0) > 0 ? body.readings : undefined;
    }, 30_000, 'readings stored by the registry');
    expect(stored!.length).toBeGreaterThan(0);
    await cluster.startNode(node);
  }, 240_000);
});
