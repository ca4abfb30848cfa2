import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import type { GatewayEvent, Reading } from '@cityedge/contract';
import type { Agent } from '@cityedge/edge-agent';
import { buildAgent, quiet, waitUntil } from '../support/fixtures.js';

/**
 * Line faults on one shared RTU bus (an RS-485 device server): each faulty device's readings
 * are marked bad with the right code and never reported as 0, nothing throws or hangs, and the
 * healthy device on the same bus keeps its schedule.
 */
const FAULTS: Record<string, { fault: string; expect: RegExp }> = {
  silent: { fault: 'no-reply', expect: /^EDGE_MODBUS_TIMEOUT$/ },
  badcrc: { fault: 'crc-error', expect: /^EDGE_MODBUS_CRC$/ },
  refuses: { fault: 'exception:4', expect: /^EDGE_MODBUS_EXCEPTION_04$/ },
  noisy: { fault: 'garbage', expect: /^EDGE_MODBUS_(FRAME|CRC|TIMEOUT)$/ },
  cut: { fault: 'truncated', expect: /^EDGE_MODBUS_(FRAME|CRC|TIMEOUT)$/ },
  impostor: { fault: 'wrong-unit', expect: /^EDGE_MODBUS_(FRAME|TIMEOUT)$/ },
  sluggish: { fault: 'slow:1500', expect: /^EDGE_MODBUS_TIMEOUT$/ },
};

describe('Modbus line faults on a shared bus', () => {
  let sim: Simulation;
  let agent: Agent;
  const readings: Reading[] = [];
  const events: GatewayEvent[] = [];
  const names = Object.keys(FAULTS);

  beforeAll(async () => {
    sim = await startSimulation(
      {
        endpoints: [
          {
            id: 'bus',
            transport: 'rtu-over-tcp',
            devices: [
              { id: 'healthy', model: 'sht20', unitId: 1 },
              ...names.map((id, i) => ({ id, model: 'sht20' as const, unitId: i + 2, fault: FAULTS[id]!.fault })),
            ],
          },
        ],
      },
      { logger: quiet },
    );
    agent = await buildAgent({
      gateway: { id: 'gw-faults' },
      lines: [
        {
          id: 'bus',
          type: 'rtu-over-tcp',
          host: '127.0.0.1',
          port: sim.endpoint('bus').port!,
          timeoutMs: 200,
          retries: 1,
          maxBackoffMs: 5000,
          devices: [{ id: 'healthy', profile: 'sht20', unitId: 1, pollIntervalMs: 1000 }, ...names.map((id, i) => ({ id, profile: 'sht20', unitId: i + 2, pollIntervalMs: 1000 }))],
        },
      ],
      // Nothing listens here: readings stay in the outbox, which is what this test reads.
      forwarding: { brokerUrl: 'mqtt://127.0.0.1:9', protocolVersion: 4 },
      http: { enabled: false },
    });
    agent.bus.subscribe({ name: 'test', readings: (r: Reading[]) => readings.push(...r), event: (e: GatewayEvent) => events.push(e) });
    await agent.start();
    await waitUntil(() => names.every((n) => readings.some((r) => r.dev === n)) && agent.lines[0]!.stats().devices.filter((d) => d.quarantined).length === names.length - 1, 30_000, 'every faulty device to be quarantined');
    await new Promise((r) => setTimeout(r, 4000));
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
  });

  it.each(names)('marks the readings of a device with fault %s bad, with its code, never 0', (name) => {
    const own = readings.filter((r) => r.dev === name);
    expect(own.length).toBeGreaterThan(0);
    for (const r of own) {
      expect(r.q).toBe('bad');
      expect(r.v).toBeNull();
      expect(r.err).toMatch(FAULTS[name]!.expect);
    }
  });

  it('keeps the healthy device answering on schedule', () => {
    const healthy = readings.filter((r) => r.dev === 'healthy' && r.pt === 'temperature');
    expect(healthy.every((r) => r.q === 'good')).toBe(true);
    const stats = agent.lines[0]!.stats().devices.find((d) => d.id === 'healthy')!;
    expect(stats.consecutiveFailures).toBe(0);
    // Once the faulty devices are quarantined, their probes go between the healthy device's
    // polls: it is polled every second again (4 polls in the last 4 s, one of them may be at the edge).
    const since = Date.now() - 4000;
    expect(healthy.filter((r) => r.ts >= since).length).toBeGreaterThanOrEqual(3);
  });

  it('reports each faulty device offline once, and back online when the fault clears', async () => {
    const offline = events.filter((e) => e.type === 'device.offline').map((e) => e.dev);
    // A device that answers with an exception is alive: its points are bad, but it is not offline.
    expect(offline.sort()).toEqual(names.filter((n) => n !== 'refuses').sort());
    sim.device('silent').setFault('none');
    await waitUntil(() => readings.some((r) => r.dev === 'silent' && r.q === 'good'), 15_000, 'the silent device to answer again');
    expect(events.filter((e) => e.type === 'device.online').map((e) => e.dev)).toEqual(['silent']);
    expect(agent.lines[0]!.stats().devices.find((d) => d.id === 'silent')!.quarantined).toBe(false);
  });
});
