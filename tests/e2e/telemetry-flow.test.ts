import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import type { Agent } from '@cityedge/edge-agent';
import { TestBroker } from '@cityedge/test-support';
import { TelemetryConsumer } from '../support/consumer.js';
import { buildAgent, latest, quiet, waitUntil } from '../support/fixtures.js';

/**
 * Simulators -> agent -> broker -> a central consumer, for every built-in profile over Modbus
 * TCP and RTU over TCP: the values a consumer receives are the simulated devices' true values,
 * scaled, and the sequence has no gaps.
 */
describe('telemetry from every device profile', () => {
  const broker = new TestBroker();
  const consumer = () => c;
  let c: TelemetryConsumer;
  let sim: Simulation;
  let agent: Agent;

  beforeAll(async () => {
    await broker.start();
    c = new TelemetryConsumer(broker.url);
    await c.start();
    sim = await startSimulation(
      {
        endpoints: [
          {
            id: 'station',
            transport: 'tcp',
            devices: [
              { id: 'river-radar', model: 'vegapuls-c21', unitId: 246, options: { wordOrder: 'CDAB' } },
              { id: 'well', model: 'pressure-level', unitId: 2 },
            ],
          },
          {
            id: 'bus',
            transport: 'rtu-over-tcp',
            devices: [
              { id: 'aq', model: 'vaisala-aqt530', unitId: 1 },
              { id: 'climate', model: 'sht20', unitId: 2 },
              { id: 'bridge', model: 'geolux-lx80', unitId: 3 },
            ],
          },
          {
            id: 'cabinet',
            transport: 'tcp',
            devices: [
              { id: 'dali', model: 'intesis-dali', unitId: 1, options: { ballastsPerChannel: 2, initialLevel: 0, rampSeconds: 0 } },
              { id: 'meter', model: 'eastron-sdm120', unitId: 2, options: { source: 'dali' } },
            ],
          },
        ],
      },
      { logger: quiet },
    );
    sim.device('river-radar').setValue('level', 3.25);
    sim.device('well').setValue('level', 1.23);
    sim.device('aq').setValue('pm25', 42.5);
    sim.device('aq').setValue('no2', 17);
    sim.device('climate').setValue('temperature', 30.5);
    sim.device('climate').setValue('humidity', 54.6);
    sim.device('bridge').setValue('level', 2.5);
    const port = (id: string) => sim.endpoint(id).port!;
    agent = await buildAgent({
      gateway: { id: 'gw-flow' },
      lines: [
        {
          id: 'station',
          type: 'tcp',
          host: '127.0.0.1',
          port: port('station'),
          devices: [
            { id: 'river-radar', profile: 'vegapuls-c21', pollIntervalMs: 200, points: { pv: { wordOrder: 'CDAB' } } },
            { id: 'well', profile: 'pressure-level', unitId: 2, pollIntervalMs: 200 },
          ],
        },
        {
          id: 'bus',
          type: 'rtu-over-tcp',
          host: '127.0.0.1',
          port: port('bus'),
          devices: [
            { id: 'aq', profile: 'vaisala-aqt530', unitId: 1, pollIntervalMs: 200 },
            { id: 'climate', profile: 'sht20', unitId: 2, pollIntervalMs: 200 },
            { id: 'bridge', profile: 'geolux-lx80', unitId: 3, pollIntervalMs: 200 },
          ],
        },
        {
          id: 'cabinet',
          type: 'tcp',
          host: '127.0.0.1',
          port: port('cabinet'),
          devices: [
            { id: 'lamp-0', profile: 'intesis-dali-ballast', unitId: 1, addressOffset: 0, pollIntervalMs: 200 },
            { id: 'lamp-1', profile: 'intesis-dali-ballast', unitId: 1, addressOffset: 100, pollIntervalMs: 200 },
            { id: 'meter', profile: 'eastron-sdm120', unitId: 2, pollIntervalMs: 200 },
          ],
        },
      ],
      forwarding: { brokerUrl: broker.url, protocolVersion: 4, maxBatchReadings: 50 },
      http: { enabled: false },
    });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    await c?.stop();
    await broker.stop();
  });

  const good = (key: string) => {
    const r = latest(consumer().readings).get(key);
    return r?.q === 'good' ? r.v : undefined;
  };

  it('delivers scaled values of every profile', async () => {
    await waitUntil(() => ['river-radar.pv', 'well.level', 'aq.pm2_5', 'climate.humidity', 'bridge.level', 'meter.voltage', 'lamp-1.level'].every((k) => good(k) !== undefined), 10_000, 'a good reading of every device');
    expect(good('river-radar.pv')).toBeCloseTo(3.25, 5); // float32, word order CDAB
    expect(good('river-radar.pv_unit_code')).toBe(45);
    expect(good('river-radar.pv_invalid')).toBe(false);
    expect(good('well.level')).toBe(1.23); // int16 with decimals from register 3
    expect(good('well.decimals')).toBe(2);
    expect(good('aq.pm2_5')).toBe(42.5);
    expect(good('aq.no2')).toBe(17);
    expect(good('climate.temperature')).toBe(30.5);
    expect(good('climate.humidity')).toBe(54.6);
    expect(good('bridge.level')).toBe(2.5);
    expect(good('meter.voltage')).toBeGreaterThan(200);
    expect(good('meter.frequency')).toBeCloseTo(50, 0);
    const units = latest(consumer().readings);
    expect(units.get('aq.pm2_5')?.u).toBe('ug/m3');
    expect(units.get('river-radar.pv')?.u).toBe('m');
  });

  it('writes lamp levels and the meter follows the lamps', async () => {
    await agent.write('lamp-0', 'arc_power', 100);
    await agent.write('lamp-1', 'arc_power', 50);
    await waitUntil(() => good('lamp-0.level') === 100 && good('lamp-1.level') === 50, 10_000, 'lamp levels');
    expect(good('lamp-0.lamp_on')).toBe(true);
    const truth = sim.device('meter').snapshot() as { activePower: number };
    await waitUntil(() => Math.abs(Number(good('meter.active_power')) - truth.activePower) < 1, 10_000, 'meter power to follow the lamps');
    expect(truth.activePower).toBeGreaterThan(150);
  });

  it('forwards a gap-free sequence without duplicates, and a retained online status', async () => {
    await waitUntil(() => consumer().readings.length > 200, 10_000, 'readings');
    expect(consumer().gaps('gw-flow')).toEqual([]);
    expect(consumer().duplicates).toBe(0);
    expect(consumer().statuses).toContainEqual(expect.objectContaining({ gw: 'gw-flow', state: 'online' }));
    expect(consumer().events).toContainEqual(expect.objectContaining({ type: 'agent.started' }));
  });
});
