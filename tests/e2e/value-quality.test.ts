import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import type { Agent } from '@cityedge/edge-agent';
import { TestBroker } from '@cityedge/test-support';
import { TelemetryConsumer } from '../support/consumer.js';
import { buildAgent, quiet, waitUntil } from '../support/fixtures.js';

/**
 * Values that look good must be good: a float read in the wrong word order reaches the consumer
 * as bad with EDGE_VALUE_RANGE (never as 2.3e-41 "good"), and points a device does not have
 * (an AQT530 without gas cells) are switched off and never published.
 */
describe('value quality end to end', () => {
  const broker = new TestBroker();
  let consumer: TelemetryConsumer;
  let sim: Simulation;
  let agent: Agent;
  const GAS = ['no2', 'so2', 'co', 'o3', 'no'];

  beforeAll(async () => {
    await broker.start();
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
    sim = await startSimulation(
      {
        endpoints: [
          {
            id: 'station',
            transport: 'tcp',
            devices: [
              // Both radars write the PV float in ABCD (register 3000 = 0).
              { id: 'radar-ok', model: 'vegapuls-c21', unitId: 246 },
              { id: 'radar-swapped', model: 'vegapuls-c21', unitId: 247 },
              { id: 'aq', model: 'vaisala-aqt530', unitId: 1 },
            ],
          },
        ],
      },
      { logger: quiet },
    );
    // 2.5 m is 0x40200000: read as CDAB it is 0x00004020 = 2.3e-41, the value the field trial published as good.
    sim.device('radar-ok').setValue('level', 2.5);
    sim.device('radar-swapped').setValue('level', 2.5);
    sim.device('aq').setValue('pm25', 42.5);
    agent = await buildAgent({
      gateway: { id: 'gw-quality' },
      lines: [
        {
          id: 'station',
          type: 'tcp',
          host: '127.0.0.1',
          port: sim.endpoint('station').port!,
          devices: [
            { id: 'radar-ok', profile: 'vegapuls-c21', unitId: 246, pollIntervalMs: 200 },
            { id: 'radar-swapped', profile: 'vegapuls-c21', unitId: 247, pollIntervalMs: 200, points: { pv: { wordOrder: 'CDAB' } } },
            { id: 'aq', profile: 'vaisala-aqt530', unitId: 1, pollIntervalMs: 200, points: Object.fromEntries(GAS.map((g) => [g, { enabled: false }])) },
          ],
        },
      ],
      forwarding: { brokerUrl: broker.url, protocolVersion: 4 },
      http: { enabled: false },
    });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    await consumer?.stop();
    await broker.stop();
  });

  const of = (dev: string, pt: string) => consumer.readings.filter((r) => r.dev === dev && r.pt === pt);

  it('publishes a float in the wrong word order as bad with EDGE_VALUE_RANGE, the right one as good', async () => {
    await waitUntil(() => of('radar-swapped', 'pv').length >= 3 && of('radar-ok', 'pv').length >= 3, 10_000, 'readings of both radars');
    for (const r of of('radar-swapped', 'pv')) expect(r).toMatchObject({ v: null, q: 'bad', err: 'EDGE_VALUE_RANGE', u: 'm' });
    for (const r of of('radar-ok', 'pv')) expect(r).toMatchObject({ v: 2.5, q: 'good', u: 'm' });
    // The rest of the swapped radar is fine: only the value that cannot be a level is bad.
    expect(of('radar-swapped', 'pv_unit_code').at(-1)).toMatchObject({ v: 45, q: 'good' });
  });

  it('never reads or publishes points switched off for a device without them', async () => {
    await waitUntil(() => of('aq', 'pm2_5').length >= 3, 10_000, 'air-quality readings');
    expect(of('aq', 'pm2_5').at(-1)).toMatchObject({ v: 42.5, q: 'good' });
    expect(new Set(consumer.readings.filter((r) => r.dev === 'aq').map((r) => r.pt))).toEqual(new Set(['pm2_5', 'pm10', 'temperature', 'humidity', 'pressure']));
  });
});
