import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '../simulation.js';
import { decodeFloat, ManualClock, RawClient, tcpRead, tcpWrite } from '../test-support/raw-client.js';
import { IntesisDali } from './intesis-dali.js';

const clock = new ManualClock();
let sim: Simulation;
let c: RawClient;

beforeAll(async () => {
  sim = await startSimulation(
    {
      endpoints: [
        {
          id: 'cabinet',
          transport: 'tcp',
          devices: [
            { id: 'dali', model: 'intesis-dali', unitId: 1, options: { channels: [0, 1], ballastsPerChannel: 4, lampWatts: 100 } },
            { id: 'meter', model: 'eastron-sdm120', unitId: 2, options: { source: 'dali', standbyWatts: 3 } },
            { id: 'flaky', model: 'intesis-dali', unitId: 3, options: { ballastsPerChannel: 16, initialLevel: 100, lampFailuresPerHour: 0.5 } },
          ],
        },
      ],
    },
    { clock, seed: 9, tickMs: 0 },
  );
  c = await RawClient.connect(sim.endpoint('cabinet').port ?? 0);
});
afterAll(async () => {
  c.close();
  await sim.stop();
});

/** status, actual level and set-point of one ballast over the wire. */
async function ballast(ch: number, addr: number) {
  const base = 7000 * ch + 100 * addr;
  const [status, level] = await tcpRead(c, 1, 3, base + 5, 2);
  const [setpoint] = await tcpRead(c, 1, 3, base + 15, 1);
  return { status, level, setpoint };
}

async function meter(address: number): Promise<number> {
  const [a, b] = await tcpRead(c, 2, 4, address, 2);
  return decodeFloat([a ?? 0, b ?? 0], 'ABCD');
}

describe('Intesis DALI gateway and SDM120 meter', () => {
  it('starts dark: the meter sees only the standby load, ~230 V, ~50 Hz', async () => {
    expect(await ballast(0, 1)).toEqual({ status: 0, level: 0, setpoint: 0 });
    expect(await meter(12)).toBeCloseTo(3, 3);
    expect(await meter(0)).toBeGreaterThan(225);
    expect(await meter(0)).toBeLessThan(235);
    expect(Math.abs((await meter(70)) - 50)).toBeLessThan(0.1);
  });

  it('ramps the actual level to a written arc power over ~1 s; lamp_on follows', async () => {
    expect(await tcpWrite(c, 1, 115, 100)).toBe('06007300' + '64');
    expect(await ballast(0, 1)).toEqual({ status: 0, level: 0, setpoint: 100 });
    clock.advance(500);
    const half = await ballast(0, 1);
    expect(half.status).toBe(0b100);
    expect(half.level).toBeGreaterThan(30);
    expect(half.level).toBeLessThan(70);
    clock.advance(600);
    expect(await ballast(0, 1)).toEqual({ status: 0b100, level: 100, setpoint: 100 });
    expect(await meter(12)).toBeCloseTo(103, 3);
  });

  it('a broadcast level sets every ballast of its channel only', async () => {
    expect(await tcpWrite(c, 1, 7000 + 6800, 50)).toBe('06' + (13800).toString(16).padStart(4, '0') + '0032');
    clock.advance(2000);
    for (let a = 0; a < 4; a++) expect(await ballast(1, a)).toEqual({ status: 0b100, level: 50, setpoint: 50 });
    expect((await ballast(0, 0)).level).toBe(0);
    expect((await ballast(0, 1)).level).toBe(100);
    const watts = await meter(12);
    expect(watts).toBeCloseTo(303, 2);
    expect(await meter(18)).toBeGreaterThan(watts);
    expect((await meter(6)) * (await meter(0))).toBeCloseTo(await meter(18), 0);
  });

  it('integrates energy over simulated time', async () => {
    const before = await meter(342);
    clock.advance(3_600_000);
    const after = await meter(342);
    expect(after - before).toBeCloseTo(0.303, 3);
    expect(await meter(72)).toBeCloseTo(after, 5);
  });

  it('a failed lamp sets the lamp-failure bit, reads level 0 and draws nothing', async () => {
    sim.device('dali', IntesisDali).failLamp(0, 1);
    expect(await ballast(0, 1)).toEqual({ status: 0b010, level: 0, setpoint: 100 });
    expect(await meter(12)).toBeCloseTo(203, 2);
  });

  it('rejects a level above 100 % (03) and a write to a read-only register (02)', async () => {
    expect(await tcpWrite(c, 1, 215, 101)).toBe('8603');
    expect(await tcpWrite(c, 1, 206, 10)).toBe('8602');
  });

  it('fails lamps at random at the configured rate', async () => {
    for (let m = 0; m < 60; m++) {
      clock.advance(60_000);
      await tcpRead(c, 3, 3, 5, 1);
    }
    const states = sim.device('flaky', IntesisDali).ballastStates();
    const failed = states.filter((b) => b.lampFailure);
    // Expected 16 * (1 - e^-0.5) = 6.3 of 16 after one hour.
    expect(failed.length).toBeGreaterThan(1);
    expect(failed.length).toBeLessThan(12);
    for (const b of failed) {
      const [status, level] = await tcpRead(c, 3, 3, 100 * b.address + 5, 2);
      expect(status).toBe(0b010);
      expect(level).toBe(0);
    }
  });
});
