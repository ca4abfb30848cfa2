import * as z from 'zod';
import { float32Registers } from '../modbus/word-order.js';
import { smoothNoise } from '../random.js';
import type { PowerSource } from './intesis-dali.js';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

const R = { voltage: 0, current: 6, activePower: 12, apparentPower: 18, reactivePower: 24, powerFactor: 30, phaseAngle: 36, frequency: 70, importKwh: 72, exportKwh: 74, importKvarh: 76, exportKvarh: 78, totalKwh: 342, totalKvarh: 344 } as const;
/** kWh per watt-millisecond. */
const KWH_PER_WMS = 1 / 3_600_000_000;

export const EastronSdm120Options = z.strictObject({
  /** Id of a device in the same simulation whose load the meter measures (an intesis-dali gateway). */
  source: z.string().min(1).optional(),
  /** Load when no source is linked, watts. */
  loadWatts: z.number().min(0).max(25_000).default(0),
  /** Always-on load of the cabinet (controller, gateway, drivers), watts. */
  standbyWatts: z.number().min(0).max(1000).default(3),
  nominalVoltage: z.number().min(90).max(300).default(230),
  nominalFrequency: z.union([z.literal(50), z.literal(60)]).default(50),
  /** Power factor of the lighting load. */
  powerFactor: z.number().min(0.1).max(1).default(0.95),
  /** Energy counter at start, kWh. */
  initialKwh: z.number().min(0).max(1e7).default(0),
});

/**
 * Eastron SDM120 single-phase meter: input registers, float32 ABCD: 0 V, 6 A, 12 W, 18 VA,
 * 24 VAr, 30 PF, 36 phase angle, 70 Hz, 72 import kWh, 74 export kWh, 76/78 import/export
 * kVArh, 342 total kWh, 344 total kVArh (0..79 and 342..345 are mapped, the rest of 0..79 reads
 * 0). Its load follows a linked power source (DALI lamps) plus a standby load; energy is
 * integrated over simulated time.
 */
export class EastronSdm120 extends SimDevice {
  readonly model = 'eastron-sdm120';
  readonly settable = ['voltage', 'frequency', 'loadWatts', 'energyKwh'] as const;
  private readonly voltageNoise: (t: number) => number;
  private readonly frequencyNoise: (t: number) => number;
  private source: PowerSource | null = null;
  private unsubscribe: (() => void) | undefined;
  private loadWatts: number;
  private heldVoltage: number | null = null;
  private heldFrequency: number | null = null;
  private lastT: number | undefined;
  private lastWatts = 0;
  private lastVar = 0;
  private kwh: number;
  private kvarh = 0;
  private readings = { voltage: 0, current: 0, activePower: 0, apparentPower: 0, reactivePower: 0, powerFactor: 1, frequency: 0 };

  constructor(
    ctx: DeviceContext,
    private readonly options: z.infer<typeof EastronSdm120Options>,
  ) {
    super(ctx);
    this.loadWatts = options.loadWatts;
    this.kwh = options.initialKwh;
    this.voltageNoise = smoothNoise(ctx.random, 2.5, [31_000, 190_000, 900_000]);
    this.frequencyNoise = smoothNoise(ctx.random, 0.04, [23_000, 160_000]);
    this.bank.map('input', 0, { count: 80 });
    this.bank.map('input', R.totalKwh, { count: 4 });
  }

  /** Id of the device named in the options as the load to follow. */
  get sourceId(): string | undefined {
    return this.options.source;
  }

  /** Measures this source's load from now on (null: the constant loadWatts). */
  link(source: PowerSource | null): void {
    this.refresh();
    this.unsubscribe?.();
    this.source = source;
    this.unsubscribe = source?.onBeforeChange?.(() => this.refresh());
    this.refresh();
  }

  protected update(t: number): void {
    const o = this.options;
    const load = this.source ? this.source.powerWatts() : this.loadWatts;
    const watts = o.standbyWatts + load;
    // Electronics on standby have a poor power factor; the lamp drivers a good one.
    const pf = watts > 0 ? (o.standbyWatts * 0.5 + load * o.powerFactor) / watts : 1;
    const va = watts / pf;
    const vars = Math.sqrt(Math.max(0, va * va - watts * watts));
    if (this.lastT !== undefined && t > this.lastT) {
      const dt = t - this.lastT;
      this.kwh += ((this.lastWatts + watts) / 2) * dt * KWH_PER_WMS;
      this.kvarh += ((this.lastVar + vars) / 2) * dt * KWH_PER_WMS;
    }
    if (this.lastT === undefined || t >= this.lastT) {
      this.lastT = t;
      this.lastWatts = watts;
      this.lastVar = vars;
    }
    const voltage = this.heldVoltage ?? o.nominalVoltage + this.voltageNoise(t);
    this.readings = {
      voltage,
      current: va / voltage,
      activePower: watts,
      apparentPower: va,
      reactivePower: vars,
      powerFactor: pf,
      frequency: this.heldFrequency ?? o.nominalFrequency + this.frequencyNoise(t),
    };
    const put = (address: number, value: number) => this.bank.setMany('input', address, float32Registers(value, 'ABCD'));
    for (const k of ['voltage', 'current', 'activePower', 'apparentPower', 'reactivePower', 'powerFactor', 'frequency'] as const) put(R[k], this.readings[k]);
    put(R.phaseAngle, (Math.acos(Math.min(1, pf)) * 180) / Math.PI);
    put(R.importKwh, this.kwh);
    put(R.exportKwh, 0);
    put(R.importKvarh, this.kvarh);
    put(R.exportKvarh, 0);
    put(R.totalKwh, this.kwh);
    put(R.totalKvarh, this.kvarh);
  }

  protected state(): Snapshot {
    return { ...this.readings, energyKwh: this.kwh };
  }

  protected override applyValue(name: string, value: number | null): void {
    if (name === 'voltage') this.heldVoltage = value;
    else if (name === 'frequency') this.heldFrequency = value;
    else if (name === 'loadWatts') this.loadWatts = Math.max(0, value ?? this.options.loadWatts);
    else if (name === 'energyKwh') this.kwh = Math.max(0, value ?? this.options.initialKwh);
  }
}
