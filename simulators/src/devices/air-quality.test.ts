import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '../simulation.js';
import { ManualClock, RawClient, tcpRead, tcpWrite } from '../test-support/raw-client.js';
import { VaisalaAqt530 } from './vaisala-aqt530.js';

const HOUR = 3_600_000;
const clock = new ManualClock();
/** Local midnight in Vietnam (UTC+7). */
const START = Date.parse('2024-06-01T00:00:00+07:00');
let sim: Simulation;
let c: RawClient;

beforeAll(async () => {
  sim = await startSimulation(
    {
      startTime: '2024-06-01T00:00:00+07:00',
      endpoints: [
        {
          id: 'aq',
          transport: 'tcp',
          devices: [
            { id: 'aqt', model: 'vaisala-aqt530', unitId: 1, options: { episodes: [{ startAfterHours: 36, durationHours: 8, pm25: 180 }] } },
            { id: 'th', model: 'sht20', unitId: 2 },
          ],
        },
      ],
    },
    { clock, seed: 5, tickMs: 0 },
  );
  c = await RawClient.connect(sim.endpoint('aq').port ?? 0);
});
afterAll(async () => {
  c.close();
  await sim.stop();
});

const int16 = (r: number | undefined) => ((r ?? 0) & 0x8000 ? (r ?? 0) - 0x10000 : (r ?? 0));

/** All AQT530 quantities at simulated hour h after local midnight, read over the wire. */
async function aqtAt(h: number) {
  clock.t = clock.t - sim.simNow() + START + h * HOUR;
  const r = await tcpRead(c, 1, 3, 0, 13);
  return { no2: int16(r[0]), so2: int16(r[1]), co: int16(r[2]), unused: [r[3], r[4], r[7]], o3: int16(r[5]), no: int16(r[6]), pm25: int16(r[8]) / 10, pm10: int16(r[9]) / 10, t: int16(r[10]) / 10, rh: int16(r[11]) / 10, p: int16(r[12]) / 10 };
}

describe('Vaisala AQT530', () => {
  it('has traffic peaks in PM2.5 and NO2 in the morning and evening (local time UTC+7)', async () => {
    const night = await aqtAt(3);
    const morning = await aqtAt(7.5);
    const noon = await aqtAt(13);
    const evening = await aqtAt(18);
    expect(morning.pm25).toBeGreaterThan(night.pm25);
    expect(morning.pm25).toBeGreaterThan(noon.pm25);
    expect(evening.pm25).toBeGreaterThan(noon.pm25);
    expect(morning.no2).toBeGreaterThan(night.no2);
    expect(morning.co).toBeGreaterThan(night.co);
    expect(noon.o3).toBeGreaterThan(night.o3);
    expect(noon.t).toBeGreaterThan(night.t);
    expect(noon.rh).toBeLessThan(night.rh);
    for (const s of [night, morning, noon, evening]) {
      expect(s.pm25).toBeGreaterThan(5);
      expect(s.pm25).toBeLessThan(60);
      expect(s.pm10 / s.pm25).toBeGreaterThan(1.45);
      expect(s.pm10 / s.pm25).toBeLessThan(1.75);
      expect(s.p).toBeGreaterThan(1000);
      expect(s.p).toBeLessThan(1015);
      expect(s.unused).toEqual([0, 0, 0]);
    }
  });

  it('shows a configured pollution episode: hours of PM2.5 above 150, then back to normal', async () => {
    expect((await aqtAt(34)).pm25).toBeLessThan(60);
    for (const h of [38, 40, 42]) expect((await aqtAt(h)).pm25).toBeGreaterThan(150);
    expect((await aqtAt(46)).pm25).toBeLessThan(60);
  });

  it('starts an episode on demand through the API', async () => {
    await aqtAt(50);
    sim.device('aqt', VaisalaAqt530).startEpisode({ durationHours: 4, pm25: 220 });
    expect((await aqtAt(52)).pm25).toBeGreaterThan(190);
    expect(sim.device('aqt').snapshot().pm25).toBeGreaterThan(190);
  });

  it('answers only its real registers', async () => {
    await expect(tcpRead(c, 1, 3, 12, 2)).rejects.toThrow('exception 2');
  });
});

describe('SHT20', () => {
  it('follows the day: warmer mid-afternoon than before dawn, drier when warm', async () => {
    clock.t = clock.t - sim.simNow() + START + 4 * HOUR;
    const [t4, rh4] = await tcpRead(c, 2, 4, 1, 2);
    clock.t = clock.t - sim.simNow() + START + 15 * HOUR;
    const [t15, rh15] = await tcpRead(c, 2, 4, 1, 2);
    expect(t15).toBeGreaterThan((t4 ?? 0) + 30);
    expect(rh15).toBeLessThan(rh4 ?? 0);
    expect(t4).toBeGreaterThan(200);
    expect(t15).toBeLessThan(360);
  });

  it('applies a written temperature correction (x10, holding 0x103)', async () => {
    sim.device('th').setValue('temperature', 25);
    expect((await tcpRead(c, 2, 4, 1, 1))[0]).toBe(250);
    expect(await tcpWrite(c, 2, 0x103, 0x10000 - 15)).toBe('060103fff1');
    expect((await tcpRead(c, 2, 4, 1, 1))[0]).toBe(235);
    expect((await tcpRead(c, 2, 3, 0x101, 1))[0]).toBe(2);
  });
});
