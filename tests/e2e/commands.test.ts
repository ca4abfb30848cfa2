import type { ChildProcess } from 'node:child_process';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCommand, topicFor, Channel, enrollmentLink, type SignedCommand } from '@cityedge/contract';
import type { Central } from '@cityedge/device-registry';
import { IntesisDali, RelayIo, startSimulation, type Simulation } from '@cityedge/simulators';
import { AGENT_BUILD, EDGECTL_BUILD } from '../global-setup.js';
import { startTestCentral } from '../support/central.js';
import { eventually, quiet, tempDir } from '../support/fixtures.js';
import { registryApi, runEnrolledAgent, runProgram, stopProcess } from '../support/programs.js';

const ADMIN = 'test-admin-token-commands-0123456789';
const GW = 'gw-cmd';


/**
 * Commands end to end, with the real agent and edgectl processes, the registry and its broker,
 * and simulated devices on Modbus TCP: a technician dims a lamp and sees the level read back; a
 * repeated command id is answered from the gateway's log and not executed again; an expired one
 * is refused; a line scan finds the unit ids while the other devices keep their schedule; an
 * offline device raises an alarm at central that is acknowledged and clears itself.
 */
describe('commands to a gateway, and alarms at central', { timeout: 60_000 }, () => {
  let central: Central;
  let sim: Simulation;
  let agent: ChildProcess | undefined;
  const stateDir = tempDir('cityedge-gw-cmd-');
  const edgectl = (...args: string[]) => runProgram(EDGECTL_BUILD, ['--registry', central.url, ...args], { EDGECTL_TOKEN: ADMIN });
  const api = registryApi(() => central.url, ADMIN);
  const relays = () => sim.device('relays', RelayIo);
  /** Publishes a signed command as the registry does (its own broker account). */
  const publishAsRegistry = async (cmd: SignedCommand) => {
    const c = central.broker!.serviceConnection();
    const client = await mqtt.connectAsync(c.url, { username: c.username, password: c.password, clientId: `${c.username}-test-republish`, protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync(topicFor(GW, Channel.cmd), JSON.stringify(cmd), { qos: 1 });
    await client.endAsync();
  };
  const answers = async (id: string) => (await api('GET', `/v1/gateways/${GW}/events?type=command.*&limit=100`)).body.events.filter((e: any) => e.data?.id === id);

  beforeAll(async () => {
    central = await startTestCentral({ adminToken: ADMIN, documentDefaults: { ota: { healthWindowMs: 1500 }, http: { enabled: false } } });
    sim = await startSimulation(
      {
        endpoints: [
          { id: 'bus', transport: 'tcp', devices: [{ id: 'dali', model: 'intesis-dali', unitId: 1 }, { id: 'relays', model: 'relay-io', unitId: 2 }] },
          { id: 'field', transport: 'tcp', devices: [3, 17, 42].map((u) => ({ id: `th-${u}`, model: 'sht20' as const, unitId: u })) },
        ],
      },
      { logger: quiet },
    );
    expect((await api('POST', '/v1/sites', { id: 'dongha', name: 'Dong Ha', timeZone: 'Asia/Ho_Chi_Minh' })).status).toBe(201);
    const gw = await api('POST', '/v1/gateways', { id: GW, siteId: 'dongha' });
    expect(gw.status).toBe(201);
    expect((await api('PUT', `/v1/gateways/${GW}/lines/bus`, { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port })).status).toBeLessThan(300);
    expect((await api('PUT', `/v1/gateways/${GW}/lines/field`, { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('field').port, timeoutMs: 300 })).status).toBeLessThan(300);
    for (const d of [
      { id: 'lamp-1', lineId: 'bus', profile: 'intesis-dali-ballast', unitId: 1, addressOffset: 0, pollIntervalMs: 500 },
      { id: 'relays', lineId: 'bus', profile: 'relay-io-8', unitId: 2, pollIntervalMs: 500 },
      { id: 'th-3', lineId: 'field', profile: 'sht20', unitId: 3, pollIntervalMs: 250 },
    ]) expect((await api('POST', `/v1/gateways/${GW}/devices`, d)).status).toBe(201);
    const enrolled = await runProgram(AGENT_BUILD, ['enroll', enrollmentLink(central.url, gw.body.enrollment.code), '--state-dir', stateDir]);
    expect(enrolled.code).toBe(0);
    agent = runEnrolledAgent(stateDir, 'info');
    const pushed = await edgectl('config', 'push', GW, '--watch', '--timeout', '30');
    expect(pushed.code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await stopProcess(agent);
    await sim?.stop();
    await central?.stop();
  });

  it('dims a lamp through edgectl and reports the level read back', async () => {
    const r = await edgectl('cmd', 'write', GW, 'lamp-1', 'arc_power', '40', '--watch', '--timeout', '20');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/succeeded/);
    const id = /(?:^|\s)(\S+) (?:pending|sent)\b/m.exec(r.out)?.[1];
    const c = (await api('GET', `/v1/commands/${id}`)).body;
    expect(c).toMatchObject({ state: 'succeeded', result: { dev: 'lamp-1', pt: 'arc_power', written: 40, readBack: 40, confirmed: true } });
    // the simulated DALI gateway took it: the ballast's set-point is 40 %
    expect(sim.device('dali', IntesisDali).ballastStates()[0]).toMatchObject({ channel: 0, address: 0, setpoint: 40 });
  });

  it('refuses a write the device cannot take, naming it', async () => {
    const r = await edgectl('cmd', 'write', GW, 'lamp-1', 'level', '40', '--watch', '--timeout', '20');
    expect(r.code).toBe(1);
    expect(r.out + r.err).toMatch(/EDGE_CMD_NOT_WRITABLE/);
    const unknown = await edgectl('cmd', 'write', GW, 'lamp-9', 'arc_power', '10', '--watch', '--timeout', '20');
    expect(unknown.code).toBe(1);
    expect(unknown.out + unknown.err).toMatch(/EDGE_CMD_UNKNOWN_TARGET.*lamp-9/);
  });

  it('executes a command id once: a repeat is answered from the log, not executed again', async () => {
    const key = central.registry.signingKey.privateKeyPem;
    const now = Date.now();
    const on = signCommand({ id: 'relay-on-repeat-0001', gatewayId: GW, name: 'point.write', args: { dev: 'relays', pt: 'relay1', value: true }, actor: 'test', issuedAt: now, expiresAt: now + 60_000 }, key);
    await publishAsRegistry(on);
    await eventually(async () => (await answers(on.id)).find((e: any) => e.type === 'command.succeeded'), 20_000, 'the relay switched on');
    expect(relays().relays()[0]).toBe(true);
    const off = await edgectl('cmd', 'write', GW, 'relays', 'relay1', 'false', '--watch', '--timeout', '20');
    expect(off.code).toBe(0);
    const writes = relays().history.length;
    await publishAsRegistry(on); // the same id again
    const repeat = await eventually(async () => (await answers(on.id)).find((e: any) => e.data?.repeat === true), 20_000, 'the answer to the repeat');
    expect(repeat).toMatchObject({ type: 'command.succeeded', data: { id: on.id, state: 'succeeded', repeat: true } });
    expect(relays().relays()[0]).toBe(false);
    expect(relays().history.length).toBe(writes);
  });

  it('refuses an expired command without executing it', async () => {
    const key = central.registry.signingKey.privateKeyPem;
    const now = Date.now();
    const late = signCommand({ id: 'relay-late-0001', gatewayId: GW, name: 'point.write', args: { dev: 'relays', pt: 'relay2', value: true }, actor: 'test', issuedAt: now - 120_000, expiresAt: now - 60_000 }, key);
    const writes = relays().history.length;
    await publishAsRegistry(late);
    const refused = await eventually(async () => (await answers(late.id)).find((e: any) => e.type === 'command.refused'), 20_000, 'the refusal');
    expect(refused.data.error.code).toBe('EDGE_CMD_EXPIRED');
    expect(relays().relays()[1]).toBe(false);
    expect(relays().history.length).toBe(writes);
  });

  it('scans a line for unit ids with progress while its device keeps its schedule', async () => {
    const polled = async () => (await api('GET', `/v1/gateways/${GW}/readings?device=th-3&limit=1000`)).body;
    const r = await edgectl('cmd', 'scan', GW, 'field', '--from', '1', '--to', '50', '--watch', '--timeout', '110');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/progress|\d+\/50/);
    const id = /(?:^|\s)(\S+) (?:pending|sent)\b/m.exec(r.out)?.[1];
    const c = (await api('GET', `/v1/commands/${id}`)).body;
    expect(c.result).toMatchObject({ line: 'field', probed: 50, total: 50, complete: true });
    expect(c.result.found.map((f: any) => f.unitId)).toEqual([3, 17, 42]);
    // th-3 was polled every 250 ms during the scan: no gap much longer than its interval
    const ts: number[] = ((await polled()).readings ?? (await polled()).items ?? []).filter((x: any) => x.pt === 'temperature').map((x: any) => x.ts).sort((a: number, b: number) => a - b);
    expect(ts.length).toBeGreaterThan(4);
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
    expect(Math.max(...gaps)).toBeLessThan(3000); // 250 ms polls; a probe holds the line at most its 300 ms timeout
  }, 120_000);

  it('tails the logs with secrets redacted, and lists serial ports', async () => {
    const logs = await edgectl('cmd', 'logs', GW, '--lines', '50', '--watch', '--json', '--timeout', '20');
    expect(logs.code).toBe(0);
    const identity = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(`${stateDir}/identity.json`, 'utf8'))) as { mqtt: { password: string } };
    expect(logs.out).toMatch(/agent started/);
    expect(logs.out).not.toContain(identity.mqtt.password);
    const ports = await edgectl('cmd', 'ports', GW, '--watch', '--json', '--timeout', '20');
    expect(ports.code).toBe(0);
    expect(ports.out).toMatch(/"ports":\[/);
  });

  it('raises an alarm at central for an offline device, which is acknowledged and clears itself', async () => {
    sim.device('th-3').setFault({ mode: 'no-reply' });
    const raised = await eventually(async () => (await api('GET', `/v1/alarms?gateway=${GW}`)).body.alarms.find((a: any) => a.key === 'device.offline/th-3'), 30_000, 'the offline alarm');
    expect(raised).toMatchObject({ state: 'raised', gatewayId: GW });
    const ack = await edgectl('alarm', 'ack', String(raised.id), '--note', 'crew on the way');
    expect(ack.code).toBe(0);
    expect((await api('GET', `/v1/alarms/${raised.id}`)).body).toMatchObject({ state: 'acknowledged', ackNote: 'crew on the way' });
    sim.device('th-3').setFault({ mode: 'none' });
    const cleared = await eventually(async () => {
      const a = (await api('GET', `/v1/alarms/${raised.id}`)).body;
      return a.clearedAt ? a : undefined;
    }, 60_000, 'the alarm to clear');
    expect(cleared.acknowledgedBy).toBeTruthy();
  });
});
