import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '../simulation.js';
import { decodeFloat, ManualClock, RawClient, tcpRead, tcpWrite } from '../test-support/raw-client.js';

const MIN = 60_000;
const clock = new ManualClock();
let sim: Simulation;
let c: RawClient;

beforeAll(async () => {
  sim = await startSimulation(
    {
      endpoints: [
        {
          id: 'station',
          transport: 'tcp',
          devices: [
            { id: 'radar', model: 'vegapuls-c21', unitId: 246 },
            { id: 'radar-mm', model: 'vegapuls-c21', unitId: 247, options: { wordOrder: 'DCBA', unit: 'mm', phase: 0.4 } },
            { id: 'lx80', model: 'geolux-lx80', unitId: 2, options: { sensorHeight: 9, phase: 0.4 } },
            { id: 'pressure', model: 'pressure-level', unitId: 3, options: { phase: 0.4 } },
          ],
        },
      ],
    },
    { clock, seed: 11, tickMs: 0 },
  );
  c = await RawClient.connect(sim.endpoint('station').port ?? 0);
});
afterAll(async () => {
  c.close();
  await sim.stop();
});

describe('river flood cycle (VEGAPULS C 21 over Modbus TCP)', () => {
  it('rises through BD I, II and III (Dong Ha: 2, 3, 4 m) to ~5.3 m and falls back, smoothly', async () => {
    const start = clock.t;
    const samples: Array<{ h: number; level: number }> = [];
    for (let m = 0; m <= 24 * 60; m += 10) {
      clock.t = start + m * MIN;
      const [a, b] = await tcpRead(c, 246, 3, 106, 2);
      samples.push({ h: m / 60, level: decodeFloat([a ?? 0, b ?? 0], 'ABCD') });
    }
    const levels = samples.map((s) => s.level);
    const firstAbove = (x: number) => samples.find((s) => s.level >= x)?.h ?? Infinity;
    const peakAt = samples[levels.indexOf(Math.max(...levels))]?.h ?? NaN;
    const lastAbove = (x: number) => [...samples].reverse().find((s) => s.level >= x)?.h ?? -Infinity;

    expect(levels[0]).toBeLessThan(1.0);
    expect(firstAbove(2)).toBeLessThan(firstAbove(3));
    expect(firstAbove(3)).toBeLessThan(firstAbove(4));
    expect(firstAbove(4)).toBeLessThan(peakAt);
    expect(Math.max(...levels)).toBeGreaterThan(5.2);
    expect(Math.max(...levels)).toBeLessThan(5.4);
    expect(lastAbove(4)).toBeGreaterThan(peakAt);
    expect(lastAbove(2)).toBeLessThan(24);
    expect(levels.at(-1)).toBeLessThan(1.0);
    expect(Math.min(...levels)).toBeGreaterThanOrEqual(0);
    for (let i = 1; i < levels.length; i++) expect(Math.abs((levels[i] ?? 0) - (levels[i - 1] ?? 0))).toBeLessThan(0.3);
    // The wave rises faster than it recedes.
    expect(peakAt - firstAbove(2)).toBeLessThan(lastAbove(2) - peakAt);
  });

  it('encodes PV in the configured word order and unit, matching the true level', async () => {
    const regs = await tcpRead(c, 247, 3, 100, 8);
    expect(regs[4]).toBe(49);
    const pv = decodeFloat([regs[6] ?? 0, regs[7] ?? 0], 'DCBA');
    expect(pv).toBeCloseTo((sim.device('radar-mm').snapshot().level as number) * 1000, 1);
    expect(pv).toBeGreaterThan(1000);
    expect((await tcpRead(c, 247, 3, 3000, 1))[0]).toBe(2);
  });

  it('holds a level set through the API and marks PV invalid in the status bits', async () => {
    const radar = sim.device('radar');
    radar.setValue('level', 4.25);
    radar.setValue('status', 0b0001);
    const regs = await tcpRead(c, 246, 3, 100, 8);
    expect(regs[0]).toBe(1);
    expect(decodeFloat([regs[6] ?? 0, regs[7] ?? 0], 'ABCD')).toBeCloseTo(4.25, 5);
    radar.setValue('level', null);
    radar.setValue('status', 0);
  });
});

describe('Geolux LX-80', () => {
  it('level above riverbed = sensor height - distance, in mm', async () => {
    const [distance, distanceAvg] = await tcpRead(c, 2, 3, 1, 2);
    const [level, levelAvg, height] = await tcpRead(c, 2, 3, 0x20, 3);
    expect(height).toBe(9000);
    expect((level ?? 0) + (distance ?? 0)).toBe(9000);
    expect((levelAvg ?? 0) + (distanceAvg ?? 0)).toBe(9000);
    expect(Math.abs((level ?? 0) - (sim.device('lx80').snapshot().level as number) * 1000)).toBeLessThanOrEqual(1);
    expect(level).toBeGreaterThan(2000);
  });

  it('a written sensor height moves the distance, not the level', async () => {
    const [before] = await tcpRead(c, 2, 3, 0x20, 1);
    expect(await tcpWrite(c, 2, 0x22, 10_000)).toBe('06002227' + '10');
    const [distance] = await tcpRead(c, 2, 3, 1, 1);
    const [level] = await tcpRead(c, 2, 3, 0x20, 1);
    expect(level).toBe(before);
    expect((distance ?? 0) + (level ?? 0)).toBe(10_000);
    expect(await tcpWrite(c, 2, 0x20, 1)).toBe('8602');
  });
});

describe('pressure level transmitter', () => {
  it('reports the water column as int16 scaled by the decimals register, with a writable zero offset', async () => {
    const p = sim.device('pressure');
    p.setValue('level', 3.456);
    expect(await tcpRead(c, 3, 3, 0, 7)).toEqual([3, 3, 7, 2, 346, 0, 1000]);
    expect(await tcpWrite(c, 3, 3, 3)).toBe('0600030003');
    expect(await tcpRead(c, 3, 3, 3, 4)).toEqual([3, 3456, 0, 10_000]);
    // Zero offset -0.05 m at 3 decimals: -50 as int16.
    await tcpWrite(c, 3, 12, 0x10000 - 50);
    expect((await tcpRead(c, 3, 3, 4, 1))[0]).toBe(3406);
    expect(await tcpWrite(c, 3, 3, 9)).toBe('8603');
    expect(await tcpWrite(c, 3, 4, 1)).toBe('8602');
    p.setValue('level', null);
  });
});
