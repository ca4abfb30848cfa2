import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startCentral, type Central } from '@cityedge/device-registry';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { enrollmentLink } from '@cityedge/contract';
import { AGENT_BUILD } from '../global-setup.js';
import { TelemetryConsumer } from '../support/consumer.js';
import { eventually, quiet, tempDir, waitUntil } from '../support/fixtures.js';
import { registryApi, runEnrolledAgent, runProgram, stopProcess } from '../support/programs.js';

const ADMIN = 'test-admin-token-0123456789';
const CONSUMER = { username: '_central-scada', password: 'consumer-secret-0123456789', role: 'consumer' as const };

/**
 * The technician's flow over real sockets: create a gateway in the registry, enroll the real
 * agent process with the one-time code, push a composed configuration over the air; the
 * gateway applies and commits it and its telemetry flows under its own credentials to a
 * central consumer and into the registry's ingest.
 */
describe('provisioning: enroll, configure over the air, telemetry', () => {
  let central: Central;
  let sim: Simulation;
  let agent: ChildProcess | undefined;
  let consumer: TelemetryConsumer;
  const stateDir = tempDir('cityedge-gw-');
  let code = '';

  const api = registryApi(() => central.url, ADMIN);
  const agentCli = (...args: string[]) => runProgram(AGENT_BUILD, args);

  beforeAll(async () => {
    central = await startCentral({
      dataDir: tempDir('cityedge-registry-'),
      logger: quiet,
      http: { host: '127.0.0.1', port: 0 },
      broker: { mode: 'embedded', host: '127.0.0.1', port: 0, accounts: [CONSUMER] },
      adminToken: ADMIN,
      documentDefaults: { ota: { healthWindowMs: 1500 }, http: { enabled: false } },
    });
    sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'climate', model: 'sht20', unitId: 1 }] }] }, { logger: quiet });
    sim.device('climate').setValue('temperature', 30.5);
    consumer = new TelemetryConsumer(central.brokerUrl, 'edge/v1', CONSUMER);
    await consumer.start();
  });

  afterAll(async () => {
    await stopProcess(agent);
    await consumer?.stop();
    await sim?.stop();
    await central?.stop();
  });

  it('creates a site, a gateway with a one-time code, and its devices', async () => {
    expect((await api('POST', '/v1/sites', { id: 'dongha', name: 'Dong Ha', timeZone: 'Asia/Ho_Chi_Minh' })).status).toBe(201);
    const gw = await api('POST', '/v1/gateways', { id: 'gw-dongha-01', siteId: 'dongha' });
    expect(gw.status).toBe(201);
    code = gw.body.enrollment.code;
    expect(code).toMatch(/\S{8,}/);
    expect((await api('PUT', '/v1/gateways/gw-dongha-01/lines/bus', { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port })).status).toBeLessThan(300);
    const dev = await api('POST', '/v1/gateways/gw-dongha-01/devices', { id: 'climate', lineId: 'bus', profile: 'sht20', unitId: 1, pollIntervalMs: 200 });
    expect(dev.status).toBe(201);
    const bad = await api('POST', '/v1/gateways/gw-dongha-01/devices', { id: 'x', lineId: 'bus', profile: 'sht20', unitId: 'one' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/unitId/);
  });

  it('enrolls the gateway with the link its QR code carries, once', async () => {
    const r = await agentCli('enroll', enrollmentLink(central.url, code), '--state-dir', stateDir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('enrolled as gw-dongha-01');
    expect(statSync(join(stateDir, 'identity.json')).mode & 0o777).toBe(0o600);
    const again = await agentCli('enroll', '--registry', central.url, '--code', code, '--state-dir', tempDir(), '--force');
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/the registry refused the code: .*\(REG_CODE_USED\)/);
    expect(again.err).not.toMatch(/\n\s+at /);
  });

  it('receives its configuration over the air, commits it, and its telemetry reaches central systems', async () => {
    agent = runEnrolledAgent(stateDir);
    const pushed = await api('POST', '/v1/gateways/gw-dongha-01/configs', {});
    expect(pushed.status).toBe(201);
    const version = pushed.body.version as number;
    const committed = await eventually(
      async () => {
        const r = await api('GET', '/v1/gateways/gw-dongha-01/configs');
        const items: any[] = Array.isArray(r.body) ? r.body : (r.body?.items ?? r.body?.versions ?? []);
        return items.find((c) => c.version === version && c.state === 'committed');
      },
      20_000,
      'the registry to see the configuration committed',
    );
    expect(committed).toBeDefined();
    await waitUntil(() => consumer.readings.some((r) => r.dev === 'climate' && r.v === 30.5), 10_000, 'telemetry at a central consumer');
    const gw = await api('GET', '/v1/gateways/gw-dongha-01');
    expect(JSON.stringify(gw.body)).toMatch(/"online"|"state":"online"|"online":true/);
    const readings = await eventually(
      async () => {
        const r = await api('GET', '/v1/gateways/gw-dongha-01/readings?device=climate&point=temperature&limit=5');
        const items: any[] = Array.isArray(r.body) ? r.body : (r.body?.readings ?? r.body?.items ?? []);
        return items.length > 0 ? items : undefined;
      },
      10_000,
      'ingested readings in the registry',
    );
    expect(JSON.stringify(readings[0])).toContain('30.5');
    expect(consumer.gaps('gw-dongha-01')).toEqual([]);
  });

  it('keeps the gateway to its own topics on the broker', async () => {
    const id = JSON.parse((await import('node:fs')).readFileSync(join(stateDir, 'identity.json'), 'utf8'));
    const bad = mqtt.connect(central.brokerUrl, { username: id.mqtt.username, password: id.mqtt.password, clientId: 'someone-else', protocolVersion: 4, reconnectPeriod: 0 });
    const err = await new Promise<Error>((resolve) => bad.once('error', resolve));
    expect(err.message).toMatch(/Not authorized|Bad username|Identifier rejected/i);
    bad.end(true);
  });
});
