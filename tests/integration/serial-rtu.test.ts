import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPtyPair, startSimulation, type PtyPair, type Simulation } from '@cityedge/simulators';
import type { Agent } from '@cityedge/edge-agent';
import { TestBroker } from '@cityedge/test-support';
import { TelemetryConsumer } from '../support/consumer.js';
import { buildAgent, latest, quiet, tempDir, waitUntil } from '../support/fixtures.js';

/**
 * Modbus RTU over a real serial line: socat joins two pseudo-terminals, the simulators open one
 * end with serialport, the agent's RTU transport the other. One bus, several devices, one dead.
 */
describe('RTU over a pseudo-terminal serial line (socat)', () => {
  const broker = new TestBroker();
  let pty: PtyPair;
  let sim: Simulation;
  let agent: Agent;
  let consumer: TelemetryConsumer;

  beforeAll(async () => {
    const dir = tempDir('cityedge-serial-');
    pty = await openPtyPair(join(dir, 'tty-devices'), join(dir, 'tty-gateway'));
    sim = await startSimulation(
      {
        endpoints: [
          {
            id: 'rs485',
            transport: 'serial',
            path: pty.devicePath,
            baudRate: 9600,
            devices: [
              { id: 'radar', model: 'vegapuls-c21', unitId: 246, options: { wordOrder: 'DCBA' } },
              { id: 'well', model: 'pressure-level', unitId: 2 },
              { id: 'climate', model: 'sht20', unitId: 3 },
              { id: 'dead', model: 'sht20', unitId: 4, fault: 'no-reply' },
            ],
          },
        ],
      },
      { logger: quiet },
    );
    sim.device('radar').setValue('level', 4.12);
    sim.device('well').setValue('level', 2.5);
    sim.device('climate').setValue('temperature', 30.5);
    sim.device('climate').setValue('humidity', 54.6);
    await broker.start();
    consumer = new TelemetryConsumer(broker.url);
    await consumer.start();
    agent = await buildAgent({
      gateway: { id: 'gw-serial' },
      lines: [
        {
          id: 'rs485',
          type: 'rtu',
          path: pty.hostPath,
          baudRate: 9600,
          timeoutMs: 250,
          devices: [
            { id: 'radar', profile: 'vegapuls-c21', pollIntervalMs: 500, points: { pv: { wordOrder: 'DCBA' } } },
            { id: 'well', profile: 'pressure-level', unitId: 2, pollIntervalMs: 500 },
            { id: 'climate', profile: 'sht20', unitId: 3, pollIntervalMs: 500 },
            { id: 'dead', profile: 'sht20', unitId: 4, pollIntervalMs: 500 },
          ],
        },
      ],
      forwarding: { brokerUrl: broker.url },
      http: { enabled: false },
    });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    await pty?.close();
    await consumer?.stop();
    await broker.stop();
  });

  it('reads every device on the bus and marks the dead one bad', async () => {
    const good = (k: string) => {
      const r = latest(consumer.readings).get(k);
      return r?.q === 'good' ? r.v : undefined;
    };
    await waitUntil(() => good('radar.pv') !== undefined && good('well.level') !== undefined && good('climate.humidity') !== undefined, 15_000, 'readings over the serial line');
    expect(good('radar.pv')).toBeCloseTo(4.12, 5);
    expect(good('well.level')).toBe(2.5);
    expect(good('climate.temperature')).toBe(30.5);
    expect(good('climate.humidity')).toBe(54.6);
    await waitUntil(() => consumer.events.some((e) => e.type === 'device.offline' && e.dev === 'dead'), 15_000, 'the dead device reported offline');
    const dead = consumer.readings.filter((r) => r.dev === 'dead');
    expect(dead.length).toBeGreaterThan(0);
    expect(dead.every((r) => r.q === 'bad' && r.v === null && r.err === 'EDGE_MODBUS_TIMEOUT')).toBe(true);
  });

  it('keeps the schedule of the live devices while the dead one is quarantined', async () => {
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const polls = (dev: string) => consumer.readings.filter((r) => r.dev === dev && r.q === 'good' && r.ts >= from && (r.pt === 'temperature' || r.pt === 'level' || r.pt === 'pv')).length;
    // Every 500 ms for 5 s: 10 polls each, allowing for the edges of the window.
    for (const dev of ['radar', 'well', 'climate']) expect(polls(dev)).toBeGreaterThanOrEqual(8);
    const stats = agent.lines[0]!.stats().devices;
    expect(stats.find((d) => d.id === 'dead')!.quarantined).toBe(true);
    for (const d of stats.filter((d) => d.id !== 'dead')) expect(d.consecutiveFailures).toBe(0);
  }, 20_000);
});
