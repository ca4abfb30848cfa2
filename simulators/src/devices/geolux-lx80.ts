import * as z from 'zod';
import { EXCEPTION, type Table } from '../modbus/register-bank.js';
import { uint16Register } from '../modbus/word-order.js';
import { RiverModel, riverOptions } from './river.js';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

const DISTANCE = 1;
const DISTANCE_AVG = 2;
const MODBUS_ID = 4;
const BAUD_CODE = 5;
const LEVEL = 0x20;
const LEVEL_AVG = 0x21;
const SENSOR_HEIGHT = 0x22;
/** Samples of the (deterministic) river curve averaged for the "averaged" registers. */
const AVG_SAMPLES = 8;

export const GeoluxLx80Options = z.strictObject({
  ...riverOptions,
  /** Mounting height of the radar above the riverbed, metres (register 0x22, writable). */
  sensorHeight: z.number().positive().max(65.535).default(8),
  /** Riverbed elevation on the station datum, metres: level above riverbed = stage - bedElevation. */
  bedElevation: z.number().min(-50).max(50).default(0),
  /** Window of the averaged registers, simulated seconds. */
  averageSeconds: z.number().positive().max(3600).default(30),
  /** Value of the baud-rate register (5). */
  baudCode: z.int().min(0).max(65535).default(3),
});

/**
 * Geolux LX-80 radar level sensor, holding registers in mm: 1 distance, 2 averaged distance,
 * 4 modbus id, 5 baud code, 0x20 level above riverbed (= sensor height - distance), 0x21
 * averaged level, 0x22 sensor height (writable).
 */
export class GeoluxLx80 extends SimDevice {
  readonly model = 'geolux-lx80';
  readonly settable = ['level', 'sensorHeight'] as const;
  private readonly river: RiverModel;
  private sensorHeightMm: number;
  private held: number | null = null;
  private levelM = 0;
  private levelAvgM = 0;

  constructor(
    ctx: DeviceContext,
    private readonly options: z.infer<typeof GeoluxLx80Options>,
  ) {
    super(ctx);
    this.river = new RiverModel(options, ctx.simStart, ctx.random);
    this.sensorHeightMm = Math.round(options.sensorHeight * 1000);
    this.bank.map('holding', DISTANCE, { count: 5 });
    this.bank.map('holding', LEVEL, { count: 2 });
    this.bank.map('holding', SENSOR_HEIGHT, { writable: true, value: this.sensorHeightMm });
  }

  /** Level above the riverbed in metres at t, limited to what the radar can see (0..sensor height). */
  private levelAt(t: number): number {
    const level = this.held ?? this.river.stage(t) - this.options.bedElevation;
    return Math.min(this.sensorHeightMm / 1000, Math.max(0, level));
  }

  protected update(simNow: number): void {
    this.levelM = this.levelAt(simNow);
    let sum = 0;
    const step = (this.options.averageSeconds * 1000) / (AVG_SAMPLES - 1);
    for (let i = 0; i < AVG_SAMPLES; i++) sum += this.levelAt(simNow - i * step);
    this.levelAvgM = sum / AVG_SAMPLES;
    const levelMm = uint16Register(this.levelM * 1000);
    const levelAvgMm = uint16Register(this.levelAvgM * 1000);
    this.bank.set('holding', DISTANCE, uint16Register(this.sensorHeightMm - levelMm));
    this.bank.set('holding', DISTANCE_AVG, uint16Register(this.sensorHeightMm - levelAvgMm));
    this.bank.set('holding', MODBUS_ID, this.unitId);
    this.bank.set('holding', BAUD_CODE, this.options.baudCode);
    this.bank.set('holding', LEVEL, levelMm);
    this.bank.set('holding', LEVEL_AVG, levelAvgMm);
    this.bank.set('holding', SENSOR_HEIGHT, this.sensorHeightMm);
  }

  protected state(): Snapshot {
    return { level: this.levelM, levelAvg: this.levelAvgM, distance: this.sensorHeightMm / 1000 - this.levelM, sensorHeight: this.sensorHeightMm / 1000 };
  }

  protected override applyValue(name: string, value: number | null): void {
    if (name === 'level') this.held = value;
    else if (name === 'sensorHeight' && value !== null) this.sensorHeightMm = uint16Register(value * 1000);
  }

  protected override validateWrite(_table: Table, address: number, values: readonly number[]): number | undefined {
    const v = values[SENSOR_HEIGHT - address];
    return v === 0 ? EXCEPTION.ILLEGAL_DATA_VALUE : undefined;
  }

  protected override afterWrite(_table: Table, address: number, values: readonly number[]): void {
    const v = values[SENSOR_HEIGHT - address];
    if (v !== undefined) this.sensorHeightMm = v;
    this.refresh();
  }
}
