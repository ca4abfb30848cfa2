import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { Agent, enroll, resolveManagedDocument } from '@cityedge/edge-agent';
import { RegistryClient, startCentral, type Central } from '@cityedge/device-registry';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { eventually, quiet, tempDir } from '../support/fixtures.js';

const ADMIN = 'metrics-admin-token-0123456789';
const GW = 'gw-metrics-01';

/** `promtool check metrics` on a scrape: its findings (empty when clean) and exit status. */
function promtool(text: string): { status: number | null; findings: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`promtool could not run (apt-get install prometheus): ${r.error.message}`);
  return { status: r.status, findings: (r.stdout + r.stderr).trim() };
}

const value = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.slice(series.length + 1) ?? NaN);

/**
 * Both services' /metrics as Prometheus reads them, while they do real work: the registry with
 * its embedded broker and ingest, a gateway enrolled with a code, configured over the air and
 * sending telemetry; a login the broker refuses. Prometheus' own checker must find nothing.
 */
describe('Prometheus metrics of the registry and the agent', () => {
  let central: Central;
  let sim: Simulation;
  let agent: Agent;

  beforeAll(async () => {
    central = await startCentral({
      dataDir: tempDir('cityedge-metrics-registry-'),
      logger: quiet,
      http: { host: '127.0.0.1', port: 0 },
      broker: { mode: 'embedded', host: '127.0.0.1', port: 0 },
      adminToken: ADMIN,
      documentDefaults: { ota: { healthWindowMs: 1000 }, http: { host: '127.0.0.1', port: 0 } },
    });
    sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'climate', model: 'sht20', unitId: 1 }] }] }, { logger: quiet });
    const api = new RegistryClient({ baseUrl: central.url, token: ADMIN });
    const { enrollment } = await api.createGateway({ id: GW });
    await api.putLine(GW, 'bus', { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port! });
    await api.addDevice(GW, { id: 'climate', lineId: 'bus', profile: 'sht20', unitId: 1, pollIntervalMs: 200 });
    const stateDir = tempDir('cityedge-metrics-gw-');
    const identity = await enroll({ registryUrl: central.url, code: enrollment.code, stateDir });
    // Status-server settings take effect at a start (not over the air): it boots with them.
    const boot = await resolveManagedDocument({ gateway: { id: GW }, lines: [], http: { host: '127.0.0.1', port: 0 } }, identity, stateDir);
    if (!boot.ok) throw new Error('bootstrap configuration invalid');
    agent = new Agent({ resolved: boot.value, stateDir, logger: quiet, managed: { identity, resolveDocument: (doc) => resolveManagedDocument(doc, identity, stateDir) } });
    await agent.start();
    await api.pushConfig(GW, 'metrics test');
    // A login the broker refuses (wrong password for the gateway's identity).
    const intruder = mqtt.connect(central.brokerUrl, { clientId: GW, username: GW, password: 'not-the-password', reconnectPeriod: 0, protocolVersion: 4 });
    await new Promise<void>((resolve) => {
      intruder.once('error', () => resolve());
      intruder.once('close', () => resolve());
    });
    intruder.end(true);
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    await central?.stop();
  });

  it('the registry: clean for promtool, with requests, enrollments, gateways, ingest and broker refusals', async () => {
    const scrape = async () => (await fetch(`${central.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    const text = await eventually(
      async () => {
        const t = await scrape();
        return value(t, 'cityedge_registry_ingest_readings_total') > 0 && value(t, 'cityedge_registry_gateways{state="online"}') === 1 ? t : undefined;
      },
      20_000,
      'telemetry ingested from the gateway',
    );
    expect(promtool(text)).toEqual({ status: 0, findings: '' });
    expect(value(text, 'cityedge_registry_enrollments_total{result="enrolled",status="200"}')).toBe(1);
    expect(value(text, 'cityedge_registry_ingest_messages_total{result="stored"}')).toBeGreaterThan(0);
    expect(value(text, 'cityedge_registry_broker_denials_total{action="connect"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'cityedge_registry_broker_connected_clients')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'cityedge_registry_http_requests_total{method="POST",route="/v1/enroll",status="200"}')).toBe(1);
  });

  it('the agent: clean for promtool', async () => {
    const port = agent.httpPort;
    const text = await eventually(
      async () => {
        const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return value(t, 'cityedge_mqtt_acked_messages_total') > 0 ? t : undefined;
      },
      20_000,
      'the agent to forward telemetry',
    );
    expect(promtool(text)).toEqual({ status: 0, findings: '' });
    expect(text).toContain('cityedge_polls_total{line="bus",device="climate",result="ok"}');
  });
});
