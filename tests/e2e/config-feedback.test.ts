import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Central } from '@cityedge/device-registry';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { AGENT_BUILD, EDGECTL_BUILD } from '../global-setup.js';
import { startTestCentral } from '../support/central.js';
import { TelemetryConsumer } from '../support/consumer.js';
import { eventually, quiet, tempDir, waitUntil } from '../support/fixtures.js';
import { runEnrolledAgent, runProgram, stopProcess } from '../support/programs.js';

const ADMIN = 'test-admin-token-feedback-0123456789';
const CONSUMER = { username: '_central-feedback', password: 'consumer-secret-feedback-01', role: 'consumer' as const };
const GW = 'gw-feedback';
// A serial adapter this machine does not have (a valid device name, no such file).
const MISSING_PORT = '/dev/ttyCITYEDGE9';


/**
 * Feedback a technician can act on, with the real agent and edgectl processes: a push to a gateway
 * that never connected says so; a configuration whose serial port does not exist commits (the
 * rest of it works) but `config push --watch` lists the line and the device that never answered
 * and exits 4, and `gateway show` counts the device as failing. Points switched off with
 * `edgectl device add --disable-point` are never published.
 */
describe('configuration feedback for the technician', { timeout: 60_000 }, () => {
  let central: Central;
  let sim: Simulation;
  let consumer: TelemetryConsumer;
  let agent: ChildProcess | undefined;
  const stateDir = tempDir('cityedge-gw-');
  let code = '';
  const edgectl = (...args: string[]) => runProgram(EDGECTL_BUILD, ['--registry', central.url, ...args], { EDGECTL_TOKEN: ADMIN });
  const api = async (path: string) => (await fetch(`${central.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as Promise<any>;

  beforeAll(async () => {
    central = await startTestCentral({ adminToken: ADMIN, accounts: [CONSUMER], documentDefaults: { ota: { healthWindowMs: 1500 }, http: { enabled: false } } });
    sim = await startSimulation({ endpoints: [{ id: 'aq-bus', transport: 'tcp', devices: [{ id: 'aq', model: 'vaisala-aqt530', unitId: 1 }] }] }, { logger: quiet });
    sim.device('aq').setValue('pm25', 42.5);
    consumer = new TelemetryConsumer(central.brokerUrl, 'edge/v1', CONSUMER);
    await consumer.start();
  });

  afterAll(async () => {
    await stopProcess(agent);
    await consumer?.stop();
    await sim?.stop();
    await central?.stop();
  });

  it('switches off the points a device does not have, through edgectl', async () => {
    const created = await edgectl('gateway', 'create', GW, '--no-qr', '--json');
    expect(created.code, created.err).toBe(0);
    code = JSON.parse(created.out).enrollment.code;
    expect((await edgectl('line', 'set', GW, 'aq-bus', '--type', 'tcp', '--host', '127.0.0.1', '--port', String(sim.endpoint('aq-bus').port))).code).toBe(0);
    const add = await edgectl('device', 'add', GW, 'aq', '--line', 'aq-bus', '--profile', 'vaisala-aqt530', '--unit', '1', '--interval', '300', '--disable-point', 'no2,so2,co', '--disable-point', 'o3,no');
    expect(add.code, add.err).toBe(0);
    expect(add.out).toContain('points off: no2, so2, co, o3, no');
    // device set changes what it is given and keeps the rest.
    const set = await edgectl('device', 'set', GW, 'aq', '--enable-point', 'no', '--range', 'pm10=0..800');
    expect(set.code, set.err).toBe(0);
    expect(set.out).toContain('points off: no2, so2, co, o3)');
    const back = await edgectl('device', 'set', GW, 'aq', '--disable-point', 'no');
    expect(back.out).toContain('points off: no2, so2, co, o3, no');
    const dev = await api(`/v1/gateways/${GW}/devices/aq`);
    expect(dev).toMatchObject({ pollIntervalMs: 300, unitId: 1, points: { no: { enabled: false }, pm10: { range: { min: 0, max: 800 } } } });
  });

  it('says that a push to a gateway that never connected waits for it', async () => {
    const push = await edgectl('config', 'push', GW);
    expect(push.code, push.err).toBe(0);
    expect(push.out).toContain(`${GW}: gateway ${GW} has never connected (not enrolled yet): it gets v1 when it is enrolled and connects`);
    const enrolled = await runProgram(AGENT_BUILD, ['enroll', '--registry', central.url, '--code', code, '--state-dir', stateDir]);
    expect(enrolled.code, enrolled.err).toBe(0);
    const json = await edgectl('config', 'push', GW, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ version: 2, delivery: { gateway: 'never-connected', message: expect.stringContaining('was enrolled but has never connected') } });
  });

  it('commits a configuration whose serial port does not exist, and the watch lists the line and device and exits 4', { timeout: 60_000 }, async () => {
    agent = runEnrolledAgent(stateDir);
    await eventually(async () => ((await api(`/v1/gateways/${GW}`)).config?.state === 'committed' ? true : undefined), 20_000, 'v2 committed');
    await waitUntil(() => consumer.readings.some((r) => r.dev === 'aq' && r.pt === 'pm2_5'), 10_000, 'air-quality readings');

    expect((await edgectl('line', 'set', GW, 'rs485', '--type', 'rtu', '--path', MISSING_PORT, '--baud', '9600')).code).toBe(0);
    expect((await edgectl('device', 'add', GW, 'river', '--line', 'rs485', '--profile', 'vegapuls-c21', '--interval', '300')).code).toBe(0);
    const watch = await edgectl('config', 'push', GW, '--watch', '--timeout', '45', '--interval', '200');
    expect(watch.code, `${watch.out}\n${watch.err}`).toBe(4);
    expect(watch.out).toMatch(/gw-feedback v3 committed/);
    expect(watch.out).toContain(`line rs485: cannot be opened (ENOENT): cannot open ${MISSING_PORT}`);
    expect(watch.out).toMatch(/device river \(line rs485\): never answered \(\d+ polls?, EDGE_MODBUS_PORT: line rs485 cannot be opened\)/);
    expect(watch.err).toContain(`edgectl: config watch: ${GW} v3 committed, but 1 line and 1 device have problems (edgectl gateway show ${GW})`);
    expect(watch.out).not.toContain('never connected'); // it is online

    const show = await edgectl('gateway', 'show', GW);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/devices failing:\s+1\n/);
    expect(show.out).toMatch(/problems:\s+1 line and 1 device \(running v3/);
    expect(show.out).toContain(`  device river (line rs485): never answered`);
    const gw = await api(`/v1/gateways/${GW}`);
    expect(gw.status).toMatchObject({ configVersionRunning: 3, devicesFailing: 1, problems: { version: 3, lines: [{ line: 'rs485', code: 'EDGE_MODBUS_PORT', cause: 'ENOENT' }], devices: [{ dev: 'river', state: 'never-answered' }] } });

    // The switched-off points never left the gateway; the others did, good.
    expect(new Set(consumer.readings.filter((r) => r.dev === 'aq').map((r) => r.pt))).toEqual(new Set(['pm2_5', 'pm10', 'temperature', 'humidity', 'pressure']));
    expect(consumer.readings.filter((r) => r.dev === 'aq' && r.pt === 'pm2_5').at(-1)).toMatchObject({ v: 42.5, q: 'good' });
  });

  it('clears the problems when the line is taken out', { timeout: 60_000 }, async () => {
    expect((await edgectl('device', 'rm', GW, 'river')).code).toBe(0);
    expect((await edgectl('line', 'rm', GW, 'rs485')).code).toBe(0);
    const watch = await edgectl('config', 'push', GW, '--watch', '--timeout', '45', '--interval', '200');
    expect(watch.code, `${watch.out}\n${watch.err}`).toBe(0);
    expect(watch.out).toContain('v4: no line or device problems');
    const show = await edgectl('gateway', 'show', GW);
    expect(show.out).toMatch(/devices failing:\s+0\n/);
    expect(show.out).toMatch(/problems:\s+none \(running v4/);
  });
});
