import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { generateSigningKey, signConfig, type ConfigReport } from '@cityedge/contract';
import { Agent, resolveManagedDocument, type Identity } from '@cityedge/edge-agent';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { TelemetryConsumer } from '../support/consumer.js';
import { quiet, tempDir, waitUntil } from '../support/fixtures.js';
import { TestBroker, freePort } from '@cityedge/test-support';

/**
 * Over-the-air configuration (reliability cases 10-12): signed documents delivered retained on
 * the gateway's config topic are applied without a restart and committed after a health
 * window; attacks are rejected with the running configuration unchanged; a validly signed
 * configuration that breaks the device line or the broker link is rolled back by itself; an
 * interrupted attempt is never retried.
 */
describe('over-the-air configuration', () => {
  const broker = new TestBroker();
  const registryKey = generateSigningKey();
  const rogueKey = generateSigningKey();
  const stateDir = tempDir('cityedge-ota-');
  const reports: ConfigReport[] = [];
  let registry: MqttClient;
  let consumer: TelemetryConsumer;
  let sim: Simulation;
  let agent: Agent;
  let identity: Identity;

  const lineWith = (ids: number[], port = sim.endpoint('bus').port!) => ({
    id: 'bus',
    type: 'tcp',
    host: '127.0.0.1',
    port,
    timeoutMs: 200,
    devices: ids.map((u) => ({ id: `th-${u}`, profile: 'sht20', unitId: u, pollIntervalMs: 100 })),
  });
  const doc = (version: number, extra: Record<string, unknown>) => ({ gateway: { id: 'gw-ota' }, ota: { healthWindowMs: 1500 }, ...extra });
  const push = async (signed: unknown) => {
    await registry.publishAsync('edge/v1/gw-ota/config', JSON.stringify(signed), { qos: 1, retain: true });
  };
  const pushVersion = (version: number, extra: Record<string, unknown>, key = registryKey.privateKeyPem) =>
    push(signConfig({ gatewayId: 'gw-ota', version, config: doc(version, extra) }, key));
  const reportFor = (version: number, state: ConfigReport['state']) => reports.find((r) => r.version === version && r.state === state);
  const startAgent = async () => {
    const boot = await resolveManagedDocument({ gateway: { id: 'gw-ota' }, lines: [], http: { enabled: false } }, identity, stateDir);
    if (!boot.ok) throw new Error(JSON.stringify(boot.problems));
    const a = new Agent({ resolved: boot.value, stateDir, logger: quiet, managed: { identity, resolveDocument: (d) => resolveManagedDocument({ http: { enabled: false }, ...d }, identity, stateDir) } });
    await a.start();
    return a;
  };

  beforeAll(async () => {
    await broker.start();
    sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [1, 2].map((u) => ({ id: `th-${u}`, model: 'sht20' as const, unitId: u })) }] }, { logger: quiet });
    identity = {
      gatewayId: 'gw-ota',
      mqtt: { url: broker.url, username: 'gw-ota', password: 'not-checked-by-this-broker', topicPrefix: 'edge/v1' },
      configPublicKeys: [registryKey.publicKeyPem],
      registryUrl: 'http://127.0.0.1:1',
      enrolledAt: Date.now(),
    };
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'identity.json'), JSON.stringify(identity), { mode: 0o600 });
    registry = mqtt.connect(broker.url, { protocolVersion: 4, clientId: 'registry' });
    registry.on('error', () => undefined);
    registry.on('message', (_t, p) => p.length && reports.push(JSON.parse(p.toString()) as ConfigReport));
    await new Promise<void>((r) => registry.once('connect', () => r()));
    await registry.subscribeAsync('edge/v1/gw-ota/config/report', { qos: 1 });
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
    agent = await startAgent();
  });

  afterAll(async () => {
    await agent?.stop();
    await registry?.endAsync(true);
    await consumer?.stop();
    await sim?.stop();
    await broker.stop();
  });

  it('applies a first configuration without a restart and commits it after the health window', async () => {
    expect(agent.lines).toHaveLength(0);
    await pushVersion(1, { lines: [lineWith([1])] });
    await waitUntil(() => !!reportFor(1, 'committed'), 10_000, 'version 1 committed');
    expect(reports.filter((r) => r.version === 1).map((r) => r.state)).toEqual(['delivered', 'applied', 'committed']);
    expect(agent.configVersion).toBe(1);
    await waitUntil(() => consumer.readings.some((r) => r.dev === 'th-1' && r.q === 'good'), 5000, 'telemetry from the new line');
  });

  it('adds a device in place: same outbox, the sequence goes on', async () => {
    const seqBefore = Math.max(...(consumer.seen.get('gw-ota') ?? [0]));
    await pushVersion(2, { lines: [lineWith([1, 2])] });
    await waitUntil(() => !!reportFor(2, 'committed') && consumer.readings.some((r) => r.dev === 'th-2' && r.q === 'good'), 10_000, 'version 2 committed');
    expect(agent.lines[0]!.stats().devices.map((d) => d.id)).toEqual(['th-1', 'th-2']);
    expect(consumer.gaps('gw-ota')).toEqual([]);
    expect(Math.max(...consumer.seen.get('gw-ota')!)).toBeGreaterThan(seqBefore);
  });

  it.each([
    ['an older version', () => pushVersion(1, { lines: [] }), 1, 'old-version'],
    ['a document signed with a key the gateway does not trust', () => pushVersion(5, { lines: [] }, rogueKey.privateKeyPem), 5, 'unknown-key'],
    ['a tampered document', async () => push({ ...signConfig({ gatewayId: 'gw-ota', version: 6, config: doc(6, { lines: [lineWith([1, 2])] }) }, registryKey.privateKeyPem), config: doc(6, { lines: [] }) }), 6, 'bad-signature'],
    ['an unsigned document', async () => push({ v: 1, gatewayId: 'gw-ota', version: 7, config: doc(7, { lines: [] }) }), 7, 'malformed'],
    ['a document for another gateway', async () => push(signConfig({ gatewayId: 'gw-other', version: 8, config: doc(8, { lines: [] }) }, registryKey.privateKeyPem)), 8, 'wrong-gateway'],
  ])('rejects %s and keeps running its configuration', async (_name, send, version, problem) => {
    await send();
    await waitUntil(() => !!reportFor(version, 'rejected'), 5000, `the rejection of version ${version}`);
    expect(reportFor(version, 'rejected')!.reason).toMatch(new RegExp(`^${problem}:`));
    expect(agent.configVersion).toBe(2);
    expect(agent.lines[0]!.stats().devices).toHaveLength(2);
  });

  it('rolls back a signed configuration that breaks the device line', async () => {
    const dead = await freePort();
    await pushVersion(10, { lines: [lineWith([1, 2], dead)] });
    await waitUntil(() => !!reportFor(10, 'rolled_back'), 15_000, 'version 10 rolled back');
    expect(reportFor(10, 'rolled_back')!.reason).toMatch(/devices answer/);
    expect(agent.configVersion).toBe(2);
    await waitUntil(() => agent.lines[0]!.stats().devices.every((d) => d.consecutiveFailures === 0 && d.polls > 0), 5000, 'the devices to answer again');
  });

  it('rolls back a signed configuration that breaks the broker link', async () => {
    const dead = await freePort();
    await pushVersion(11, { lines: [lineWith([1, 2])], forwarding: { brokerUrl: `mqtt://127.0.0.1:${dead}`, reconnectMinMs: 200, reconnectMaxMs: 1000 } });
    await waitUntil(() => !!reportFor(11, 'rolled_back'), 15_000, 'version 11 rolled back');
    expect(reportFor(11, 'rolled_back')!.reason).toMatch(/broker link is down/);
    expect(agent.configVersion).toBe(2);
    expect(agent.session.stats().connected).toBe(true);
    // The rolled-back version, delivered again (it is retained), is not tried again.
    const n = reports.length;
    await pushVersion(11, { lines: [lineWith([1, 2])], forwarding: { brokerUrl: `mqtt://127.0.0.1:${dead}` } });
    await new Promise((r) => setTimeout(r, 500));
    expect(reports.slice(n).filter((r) => r.version === 11)).toEqual([]);
  });

  it('boots on the last good configuration after a power cut during an attempt, and never retries it', async () => {
    // A crash in the health window of version 12: the attempt marker is on disk, nothing committed.
    await agent.stop();
    writeFileSync(join(stateDir, 'config', 'attempt.json'), JSON.stringify({ version: 12, startedAt: Date.now() }));
    await pushVersion(12, { lines: [lineWith([1])] });
    agent = await startAgent();
    expect(agent.configVersion).toBe(2);
    expect(agent.lines[0]!.stats().devices).toHaveLength(2);
    await waitUntil(() => !!reportFor(12, 'rolled_back'), 5000, 'the interrupted attempt reported');
    expect(reportFor(12, 'rolled_back')!.reason).toMatch(/restarted before the health window ended/);
    await new Promise((r) => setTimeout(r, 500));
    expect(reports.filter((r) => r.version === 12).map((r) => r.state)).toEqual(['rolled_back']);
  });
});
