import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { connectMosquitto, MosquittoDynsecProcess, RegistryClient, startCentral, type Central } from '@cityedge/device-registry';
import { Agent, enroll, resolveManagedDocument, type Identity } from '@cityedge/edge-agent';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { TelemetryConsumer } from '../support/consumer.js';
import { eventually, quiet, tempDir, waitUntil } from '../support/fixtures.js';

const ADMIN = 'integration-admin-token-0123';

/**
 * The central deployment's path on real Mosquitto: the registry provisions each gateway in the
 * dynamic-security plugin at enrollment; the gateway gets its configuration over the air and
 * forwards telemetry under its own identity (MQTT 5); another gateway's identity cannot read its
 * configuration or publish as it.
 */
describe('registry with Mosquitto (dynamic security): enroll, configure, forward', () => {
  const mosq = new MosquittoDynsecProcess();
  let central: Central;
  let sim: Simulation;
  let agent: Agent;
  let api: RegistryClient;
  let consumer: TelemetryConsumer;
  const identities: Record<string, Identity> = {};
  let closeAdmin: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    await mosq.start();
    const dataDir = tempDir('cityedge-central-');
    const broker = await connectMosquitto({ url: mosq.url, admin: mosq.adminConnection().username, adminPassword: mosq.adminConnection().password, dataDir, logger: quiet });
    closeAdmin = broker.close;
    await broker.dynsec.ensureAccount('_scada', 'scada-password-0123456789', 'consumer');
    central = await startCentral({ dataDir, logger: quiet, http: { host: '127.0.0.1', port: 0 }, broker, adminToken: ADMIN, documentDefaults: { ota: { healthWindowMs: 1500 }, http: { enabled: false } } });
    api = new RegistryClient({ baseUrl: central.url, token: ADMIN });
    sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'th', model: 'sht20', unitId: 1 }] }] }, { logger: quiet });
    consumer = new TelemetryConsumer(mosq.url, 'edge/v1', { username: '_scada', password: 'scada-password-0123456789' });
    await consumer.start();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await consumer?.stop();
    await sim?.stop();
    await central?.stop();
    await closeAdmin();
    await mosq.stop();
  });

  it('enrolls two gateways; one is configured over the air and forwards telemetry with MQTT 5', async () => {
    await api.createSite({ id: 'site-a', name: 'Site A', timeZone: 'Asia/Ho_Chi_Minh' });
    for (const id of ['gw-a', 'gw-b']) {
      const { enrollment } = await api.createGateway({ id, siteId: 'site-a' });
      identities[id] = await enroll({ registryUrl: central.url, code: enrollment.code, stateDir: tempDir(`cityedge-${id}-`) });
    }
    await api.putLine('gw-a', 'bus', { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port! });
    await api.addDevice('gw-a', { id: 'th', lineId: 'bus', profile: 'sht20', unitId: 1, pollIntervalMs: 200 });
    const id = identities['gw-a']!;
    const stateDir = tempDir('cityedge-gw-a-run-');
    const boot = await resolveManagedDocument({ gateway: { id: 'gw-a' }, lines: [], http: { enabled: false } }, id, stateDir);
    if (!boot.ok) throw new Error('bootstrap');
    agent = new Agent({ resolved: boot.value, stateDir, logger: quiet, managed: { identity: id, resolveDocument: (d) => resolveManagedDocument(d, id, stateDir) } });
    await agent.start();
    const { version } = await api.pushConfig('gw-a');
    await eventually(async () => (await api.listConfigs('gw-a')).find((c) => c.version === version && c.state === 'committed'), 20_000, 'the configuration committed');
    await waitUntil(() => consumer.readings.some((r) => r.dev === 'th' && r.q === 'good'), 10_000, 'telemetry through Mosquitto');
    expect(agent.session.stats().protocolVersion).toBe(5);
    expect(consumer.gaps('gw-a')).toEqual([]);
  });

  it("denies one gateway the other's configuration and topics", async () => {
    const b = identities['gw-b']!;
    const client = mqtt.connect(mosq.url, { username: b.mqtt.username, password: b.mqtt.password, clientId: 'gw-b', protocolVersion: 5, reconnectPeriod: 0 });
    client.on('error', () => undefined);
    await new Promise<void>((r) => client.once('connect', () => r()));
    for (const filter of ['edge/v1/gw-a/config', '#', 'edge/v1/+/telemetry']) {
      await expect(client.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Not authorized/);
    }
    const own = await client.subscribeAsync('edge/v1/gw-b/config', { qos: 1 });
    expect(own[0]!.qos).toBe(1);
    const before = consumer.readings.length;
    await client.publishAsync('edge/v1/gw-a/telemetry', JSON.stringify({ v: 1, gw: 'gw-a', seq: 999_999, readings: [{ dev: 'th', pt: 'temperature', ts: Date.now(), v: -99, q: 'good' }] }), { qos: 1 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    expect(consumer.readings.slice(before).some((r) => r.v === -99)).toBe(false);
    await client.endAsync(true);
  });
});
