import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentLink } from '@cityedge/contract';
import { startCentral, type Central } from '@cityedge/device-registry';
import { RelayIo, startSimulation, type Simulation } from '@cityedge/simulators';
import { AGENT_BUILD, EDGECTL_BUILD } from '../global-setup.js';
import { eventually, quiet, tempDir } from '../support/fixtures.js';
import { registryApi, runEnrolledAgent, runProgram, stopProcess } from '../support/programs.js';
import { freePort } from '@cityedge/test-support';
import { TcpProxy } from '../support/tcp-proxy.js';

const ADMIN = 'test-admin-token-flood-0123456789ab';
const GW = 'gw-flood';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** On/off changes of an output between two instants, as [ms since `from`, on]. */
function changes(history: ReadonlyArray<{ at: number; on: boolean }>, from: number, to: number): Array<[number, boolean]> {
  return history.filter((h) => h.at >= from && h.at < to).map((h) => [h.at - from, h.on]);
}

/**
 * Community flood warning with the broker link cut (reliability case 16), with simulators only:
 * a radar on Modbus TCP measures the simulated river, which rises through BD I, II and III and
 * falls; the real agent process, cut off from central by a TCP relay that drops the link, sounds
 * a siren on a Firmata board (StandardFirmata in the AVR emulator) and a relay on a Modbus relay
 * board with the pattern of each level; when the link returns central receives every alarm in
 * order and shows the flood alarm raised, acknowledged and cleared.
 */
describe('flood warning at the edge, offline', { timeout: 120_000 }, () => {
  let central: Central;
  let sim: Simulation;
  let agent: ChildProcess | undefined;
  let proxy: TcpProxy;
  let board: { port?: number };
  let station: Record<string, unknown>;
  const stateDir = tempDir('cityedge-gw-flood-');
  const marks: Record<string, number> = {};
  const api = registryApi(() => central.url, ADMIN);
  const setStage = (m: number) => sim.device('river').setValue('level', m);
  const relay = () => relays().history.map((h) => ({ at: h.t, on: h.relays[0]! }));
  const relays = () => sim.device('relays', RelayIo);
  const siren = () => sim.firmataBoard('board').history('D7').map((h) => ({ at: h.at, on: h.level === 'high' }));

  beforeAll(async () => {
    const brokerPort = await freePort();
    proxy = new TcpProxy('127.0.0.1', () => brokerPort);
    await proxy.start();
    central = await startCentral({
      dataDir: tempDir('cityedge-registry-flood-'),
      logger: quiet,
      http: { host: '127.0.0.1', port: 0 },
      broker: { mode: 'embedded', host: '127.0.0.1', port: brokerPort },
      brokerPublicUrl: proxy.url, // the gateway reaches the broker through the relay we cut
      adminToken: ADMIN,
      // what a configuration composed from the records starts from (the last test)
      documentDefaults: { http: { enabled: false }, ota: { healthWindowMs: 1500 }, forwarding: { reconnectMinMs: 200, reconnectMaxMs: 1000 } },
    });
    sim = await startSimulation(
      {
        endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'river', model: 'geolux-lx80', unitId: 1 }, { id: 'relays', model: 'relay-io', unitId: 2 }] }],
        firmataBoards: [{ id: 'board', port: 0 }],
      },
      { logger: quiet },
    );
    sim.device('river').setValue('sensorHeight', 8);
    setStage(1.2);
    expect((await api('POST', '/v1/sites', { id: 'dongha', name: 'Dong Ha', timeZone: 'Asia/Ho_Chi_Minh' })).status).toBe(201);
    const gw = await api('POST', '/v1/gateways', { id: GW, siteId: 'dongha' });
    const enrolled = await runProgram(AGENT_BUILD, ['enroll', enrollmentLink(central.url, gw.body.enrollment.code), '--state-dir', stateDir]);
    expect(enrolled.code).toBe(0);
    agent = runEnrolledAgent(stateDir);
    board = sim.firmataBoards[0]!;
    const document = {
      gateway: { id: GW },
      http: { enabled: false },
      ota: { healthWindowMs: 1500 },
      forwarding: { brokerUrl: proxy.url, reconnectMinMs: 200, reconnectMaxMs: 1000 },
      lines: [
        { id: 'bus', type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port, devices: [{ id: 'river-radar', profile: 'geolux-lx80', unitId: 1, pollIntervalMs: 200 }, { id: 'relays', profile: 'relay-io-8', unitId: 2, pollIntervalMs: 500 }] },
        { id: 'board', type: 'firmata', host: '127.0.0.1', port: board.port, timeoutMs: 5000, handshakeTimeoutMs: 60_000, devices: [{ id: 'warning-post', pollIntervalMs: 500, points: [{ name: 'siren', pin: 'D7', mode: 'digital-out' }] }] },
      ],
      rules: {
        flood: [
          (station = {
            id: 'dongha',
            name: 'Dong Ha (Hieu river)',
            sensor: { dev: 'river-radar', pt: 'distance' },
            kind: 'radar',
            datum: 0,
            sensorHeight: 8,
            levels: { bd1: 2.0, bd2: 3.0, bd3: 4.0 },
            hysteresis: 0.05,
            onDelayMs: 0,
            offDelayMs: 0,
            outputs: {
              bd1: [{ dev: 'warning-post', pt: 'siren', pattern: 'pulse:400/400' }],
              bd2: [{ dev: 'warning-post', pt: 'siren', pattern: 'steady' }, { dev: 'relays', pt: 'relay1', pattern: 'pulse:300/300' }],
              bd3: [{ dev: 'warning-post', pt: 'siren', pattern: 'steady' }, { dev: 'relays', pt: 'relay1', pattern: 'steady' }],
            },
          }),
        ],
      },
    };
    const issued = await api('PUT', `/v1/gateways/${GW}/config`, { document });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const watched = await runProgram(EDGECTL_BUILD, ['--registry', central.url, 'config', 'watch', GW, '--version', String(issued.body.version), '--timeout', '40'], { EDGECTL_TOKEN: ADMIN });
    // The emulated board may still be booting when the health window ends (the AVR emulator runs at
    // about 0.4x real time on a loaded machine): its devices are not polled during the handshake and
    // the agent commits once it ends, so the report names no problem.
    expect(watched.code, watched.out + watched.err).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await stopProcess(agent);
    await sim?.stop();
    await central?.stop();
    await proxy?.stop();
  });

  it('sounds the siren per level with the broker link cut, silent again when the river falls', async () => {
    proxy.cut();
    await eventually(async () => ((await api('GET', `/v1/gateways/${GW}`)).body.status.state === 'offline' ? true : undefined), 20_000, 'central to see the gateway offline');
    for (const [name, stage] of [['bd1', 2.3], ['bd2', 3.3], ['bd3', 4.4], ['normal', 1.0]] as const) {
      marks[name] = Date.now();
      setStage(stage);
      await sleep(3500);
    }
    marks.end = Date.now();
    // BD I: the board's siren pulses 400/400 ms; the relay stays off
    const bd1Siren = changes(siren(), marks.bd1!, marks.bd2!);
    expect(bd1Siren.filter(([, on]) => on).length).toBeGreaterThanOrEqual(3);
    const onTimes = bd1Siren.filter(([, on]) => on).map(([t]) => t);
    const periods = onTimes.slice(1).map((t, i) => t - onTimes[i]!);
    for (const p of periods) expect(p).toBeGreaterThan(500); // 800 ms cadence, never a steady tone
    expect(changes(relay(), marks.bd1!, marks.bd2!).some(([, on]) => on)).toBe(false);
    // BD II: the siren steady on, the relay pulses 300/300 ms
    expect(siren().filter((h) => h.at <= marks.bd3! - 500).at(-1)?.on).toBe(true);
    expect(changes(relay(), marks.bd2!, marks.bd3!).filter(([, on]) => on).length).toBeGreaterThanOrEqual(3);
    // BD III: both steady on
    expect(changes(relay(), marks.bd3! + 1000, marks.normal!).length).toBe(0);
    expect(relays().relays()[0] || relay().filter((h) => h.at < marks.normal!).at(-1)?.on).toBe(true);
    // the river falls: both silent
    expect(sim.firmataBoard('board').level('D7')).toBe('low');
    expect(relays().relays()[0]).toBe(false);
  });

  it('delivers every alarm in order when the link returns; central shows the alarm raised, acknowledged and cleared', async () => {
    proxy.restore();
    const events = await eventually(
      async () => {
        const ev = (await api('GET', `/v1/gateways/${GW}/events?type=flood.*&limit=100`)).body.events as any[];
        const flood = ev.filter((e) => e.data?.alarm?.key === 'flood.level/dongha' || e.type.startsWith('flood.'));
        return flood.some((e) => /below flood alarm levels/.test(e.message)) ? flood : undefined;
      },
      40_000,
      'the flood events at central',
    );
    const ordered = [...events].sort((a, b) => a.seq - b.seq || a.idx - b.idx); // the order the gateway produced them in
    expect(ordered.map((e) => e.ts)).toEqual([...ordered.map((e) => e.ts)].sort((a, b) => a - b));
    expect(ordered.map((e) => /BD (I+)/.exec(e.message)?.[1] ?? 'cleared')).toEqual(['I', 'II', 'III', 'cleared']);
    const alarm = (await api('GET', `/v1/alarms?gateway=${GW}&state=cleared`)).body.alarms.find((a: any) => a.key === 'flood.level/dongha');
    expect(alarm).toBeDefined();
    const ack = await api('POST', `/v1/alarms/${alarm.id}/ack`, { note: 'flood passed, crew checked the post' });
    expect(ack.status).toBeLessThan(300);
    const shown = (await api('GET', `/v1/alarms/${alarm.id}`)).body;
    expect(shown).toMatchObject({ key: 'flood.level/dongha', acknowledgedBy: expect.any(String) });
    expect(shown.clearedAt).toBeGreaterThan(shown.raisedAt);
    expect(shown.history.map((h: any) => h.action)).toEqual(expect.arrayContaining(['raised', 'cleared', 'acknowledged']));
  });

  it("the same station from the registry's records (lines, the board line, the rules record), composed and pushed: new levels take effect over the air; an acknowledgement at the site reaches central", async () => {
    expect((await api('PUT', `/v1/gateways/${GW}/lines/bus`, { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port })).status).toBe(201);
    for (const d of [{ id: 'river-radar', profile: 'geolux-lx80', unitId: 1, pollIntervalMs: 200 }, { id: 'relays', profile: 'relay-io-8', unitId: 2, pollIntervalMs: 500 }]) {
      const res = await api('POST', `/v1/gateways/${GW}/devices`, { ...d, lineId: 'bus' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    // the lines as the running document has them, so the push changes only the rules (a rebuilt board line would handshake again)
    const boardLine = await api('PUT', `/v1/gateways/${GW}/lines/board`, { type: 'firmata', host: '127.0.0.1', port: board.port, timeoutMs: 5000, handshakeTimeoutMs: 60_000, devices: [{ id: 'warning-post', pollIntervalMs: 500, points: [{ name: 'siren', pin: 'D7', mode: 'digital-out' }] }] });
    expect(boardLine.status, JSON.stringify(boardLine.body)).toBe(201);
    // BD I raised to 2.50 m (a new decision): the rules record changes, then a push composes it
    const file = join(stateDir, '..', 'dongha-rules.json');
    writeFileSync(file, JSON.stringify({ flood: [{ ...station, levels: { bd1: 2.5, bd2: 3.0, bd3: 4.0, ref: 'raised BD I' } }] }));
    const set = await runProgram(EDGECTL_BUILD, ['--registry', central.url, 'rules', 'set', GW, file], { EDGECTL_TOKEN: ADMIN });
    expect(set.code, set.out + set.err).toBe(0);
    const pushed = await runProgram(EDGECTL_BUILD, ['--registry', central.url, 'config', 'push', GW, '--watch', '--timeout', '40'], { EDGECTL_TOKEN: ADMIN });
    expect(pushed.code, pushed.out + pushed.err).toBe(0);
    const readings = async () => (await api('GET', `/v1/gateways/${GW}/readings?device=dongha&limit=200`)).body.readings as Array<{ pt: string; ts: number; v: number }>;
    /** The station's alarm level the gateway decided at a stage reading within 5 cm of `stage`, taken after `since`. */
    const levelAt = (stage: number, since: number) =>
      eventually(async () => {
        const rs = await readings();
        const at = rs.find((r) => r.pt === 'stage' && r.ts >= since && Math.abs(r.v - stage) < 0.05);
        return at && rs.find((r) => r.pt === 'alarm_level' && r.ts === at.ts)?.v;
      }, 30_000, `a stage reading of ${stage} m at central`);
    const before = Date.now(); // the gateway stamps readings with this machine's clock
    setStage(2.3); // above the old BD I, below the new one
    expect(await levelAt(2.3, before)).toBe(0);
    const later = Date.now();
    setStage(2.7);
    expect(await levelAt(2.7, later)).toBe(1);
    const alarm = await eventually(async () => ((await api('GET', `/v1/alarms?gateway=${GW}&state=raised`)).body.alarms as any[]).find((a) => a.key === 'flood.level/dongha'), 30_000, 'the new BD I alarm at central');
    expect(alarm).toMatchObject({ level: 'BD_I' });
    // a technician acknowledges it at the site (the alarm.ack command): the siren stops, the alarm stays raised, central shows who
    await eventually(async () => (siren().some((h) => h.at >= later && h.on) ? true : undefined), 20_000, 'the siren to sound BD I');
    const cmd = await api('POST', `/v1/gateways/${GW}/commands`, { name: 'alarm.ack', args: { key: 'flood.level/dongha' } });
    expect(cmd.status, JSON.stringify(cmd.body)).toBe(201);
    const acked = await eventually(async () => {
      const a = (await api('GET', `/v1/alarms/${alarm.id}`)).body;
      return a.acknowledgedBy ? a : undefined;
    }, 30_000, 'the acknowledgement at the gateway to reach central');
    expect(acked).toMatchObject({ state: 'acknowledged', clearedAt: null, acknowledgedBy: expect.stringMatching(/ at gw-flood$/) });
    expect(acked.history.at(-1)).toMatchObject({ action: 'acknowledged', note: 'acknowledged at the gateway' });
    await eventually(async () => (sim.firmataBoard('board').level('D7') === 'low' ? true : undefined), 20_000, 'the siren silenced');
    setStage(1.0);
  });
});
