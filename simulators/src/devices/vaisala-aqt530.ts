import * as z from 'zod';
import { int16Register } from '../modbus/word-order.js';
import { smoothNoise } from '../random.js';
import { airTemperature, hourBump, localHour, relativeHumidity, sunlight, traffic } from './daily-cycle.js';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

const HOUR = 3_600_000;
/** Ramp at each end of a pollution episode, hours. */
const EPISODE_RAMP_H = 1;

const Episode = z.strictObject({
  /** Start, simulated hours after the simulation starts. */
  startAfterHours: z.number().min(0),
  durationHours: z.number().positive().max(24 * 30).default(6),
  /** PM2.5 plateau during the episode, ug/m3. */
  pm25: z.number().positive().max(3000).default(180),
});
export type PollutionEpisode = z.input<typeof Episode>;

export const VaisalaAqt530Options = z.strictObject({
  /** Daily mean PM2.5 outside episodes, ug/m3. */
  basePm25: z.number().min(0).max(1000).default(22),
  /** PM10 / PM2.5. */
  pm10Ratio: z.number().min(1).max(5).default(1.6),
  meanTemperature: z.number().min(-20).max(45).default(27),
  meanHumidity: z.number().min(10).max(100).default(78),
  meanPressure: z.number().min(800).max(1100).default(1008),
  episodes: z.array(Episode).default([]),
});

const REGS = { no2: 0, so2: 1, co: 2, o3: 5, no: 6, pm25: 8, pm10: 9, temperature: 10, humidity: 11, pressure: 12 } as const;
type Quantity = keyof typeof REGS;
/** Registers stored x10 (0.1 units). */
const TENTHS: ReadonlySet<Quantity> = new Set(['pm25', 'pm10', 'temperature', 'humidity', 'pressure']);
const QUANTITIES = Object.keys(REGS) as Quantity[];

/**
 * Vaisala AQT530 air quality station, holding registers 0..12 int16: 0 NO2, 1 SO2, 2 CO, 5 O3,
 * 6 NO (ppb); 8 PM2.5, 9 PM10 (0.1 ug/m3); 10 temp (0.1 C), 11 RH (0.1 %), 12 pressure (0.1 hPa).
 * 3, 4 and 7 are gas channels not fitted and read 0. PM2.5 follows traffic (peaks ~07:30 and
 * ~18:00 local time) and night-time inversions, plus configurable pollution episodes.
 */
export class VaisalaAqt530 extends SimDevice {
  readonly model = 'vaisala-aqt530';
  readonly settable: readonly string[] = QUANTITIES;
  private readonly episodes: Array<z.infer<typeof Episode>>;
  private readonly noise: (t: number) => number;
  private readonly held = new Map<Quantity, number>();
  private values: Record<Quantity, number> = { no2: 0, so2: 0, co: 0, o3: 0, no: 0, pm25: 0, pm10: 0, temperature: 0, humidity: 0, pressure: 0 };

  constructor(
    ctx: DeviceContext,
    private readonly options: z.infer<typeof VaisalaAqt530Options>,
  ) {
    super(ctx);
    this.episodes = [...options.episodes];
    this.noise = smoothNoise(ctx.random, 1, [7 * 60_000, 23 * 60_000, 71 * 60_000]);
    this.bank.map('holding', 0, { count: 13 });
  }

  /** Starts a pollution episode now (simulated time), e.g. from the demo. */
  startEpisode(episode: { durationHours?: number; pm25?: number } = {}): void {
    const startAfterHours = (this.ctx.simNow() - this.ctx.simStart) / HOUR;
    this.episodes.push(Episode.parse({ ...episode, startAfterHours }));
  }

  /** 0..1: how far into a pollution episode time t is (smooth ramps at both ends). */
  private episodeAt(t: number): { weight: number; pm25: number } {
    const h = (t - this.ctx.simStart) / HOUR;
    let best = { weight: 0, pm25: 0 };
    for (const e of this.episodes) {
      const into = h - e.startAfterHours;
      const left = e.startAfterHours + e.durationHours - h;
      if (into <= 0 || left <= 0) continue;
      const edge = Math.min(into, left, EPISODE_RAMP_H) / EPISODE_RAMP_H;
      const weight = 0.5 - 0.5 * Math.cos(Math.PI * edge);
      if (weight > best.weight) best = { weight, pm25: e.pm25 };
    }
    return best;
  }

  protected update(t: number): void {
    const hour = localHour(t);
    const tr = traffic(hour);
    const n = this.noise(t);
    const o = this.options;
    const inversion = hourBump(hour, 23, 3);
    const daily = o.basePm25 * (0.55 + 0.6 * tr + 0.35 * inversion) * (1 + 0.08 * n);
    const ep = this.episodeAt(t);
    const pm25 = (1 - ep.weight) * daily + ep.weight * ep.pm25 * (0.9 + 0.2 * tr) * (1 + 0.03 * n);
    const temperature = airTemperature(hour, o.meanTemperature) + 0.3 * n;
    const model: Record<Quantity, number> = {
      pm25,
      pm10: pm25 * o.pm10Ratio * (1 + 0.04 * n),
      no2: 8 + 32 * tr + 15 * ep.weight + 2 * n,
      no: 3 + 40 * tr + 1.5 * n,
      co: 250 + 900 * tr + 700 * ep.weight + 30 * n,
      so2: 2 + 2.5 * tr + 4 * ep.weight + 0.3 * n,
      o3: Math.max(2, 12 + 38 * sunlight(hour) - 12 * tr + 2 * n),
      temperature,
      humidity: relativeHumidity(temperature, o.meanHumidity, o.meanTemperature) + n,
      pressure: o.meanPressure + 1.5 * Math.cos((2 * Math.PI * (hour - 10)) / 12) + 0.2 * n,
    };
    for (const q of QUANTITIES) {
      const v = Math.max(q === 'temperature' ? -100 : 0, this.held.get(q) ?? model[q]);
      this.values[q] = v;
      this.bank.set('holding', REGS[q], int16Register(TENTHS.has(q) ? v * 10 : v));
    }
  }

  protected state(): Snapshot {
    return { ...this.values };
  }

  protected override applyValue(name: string, value: number | null): void {
    const q = name as Quantity;
    if (value === null) this.held.delete(q);
    else this.held.set(q, value);
  }
}
