import * as z from 'zod';
import { EXCEPTION, type Table } from '../modbus/register-bank.js';
import { int16Register, registerToInt16 } from '../modbus/word-order.js';
import { RiverModel, riverOptions } from './river.js';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

const ADDR = 0;
const BAUD = 1;
const UNIT = 2;
const DECIMALS = 3;
const VALUE = 4;
const RANGE_ZERO = 5;
const RANGE_FULL = 6;
const ZERO_OFFSET = 12;
/** Unit codes: 7 mH2O, 8 mmH2O. */
const UNIT_CODES = { mH2O: 7, mmH2O: 8 } as const;

export const PressureLevelOptions = z.strictObject({
  ...riverOptions,
  /** Elevation of the sensor on the station datum, metres: the water column is stage - sensorElevation. */
  sensorElevation: z.number().min(-50).max(50).default(0),
  /** Decimals of the value registers (register 3, writable 0..3). */
  decimals: z.int().min(0).max(3).default(2),
  unit: z.enum(['mH2O', 'mmH2O']).default('mH2O'),
  /** Measuring range, metres of water. */
  rangeFull: z.number().positive().max(100).default(10),
  /** Zero offset added to the measurement, metres (register 12, writable). */
  zeroOffset: z.number().min(-10).max(10).default(0),
  /** Value of the baud-rate register (1); 3 is 9600 on most of these transmitters. */
  baudCode: z.int().min(0).max(65535).default(3),
});

/**
 * Generic RS-485 hydrostatic level transmitter. Holding registers 0..15: 0 address, 1 baud
 * code, 2 unit code, 3 decimals (writable), 4 value int16 scaled by decimals, 5/6 range zero/full,
 * 12 zero offset (writable, added to the measurement); 7..11 and 13..15 are reserved and read 0.
 */
export class PressureLevel extends SimDevice {
  readonly model = 'pressure-level';
  readonly settable = ['level'] as const;
  private readonly river: RiverModel;
  private readonly unitCode: number;
  private held: number | null = null;
  private decimals: number;
  /** Zero offset in metres. */
  private zeroOffset: number;
  private column = 0;

  constructor(
    ctx: DeviceContext,
    private readonly options: z.infer<typeof PressureLevelOptions>,
  ) {
    super(ctx);
    this.river = new RiverModel(options, ctx.simStart, ctx.random);
    this.unitCode = UNIT_CODES[options.unit];
    this.decimals = options.decimals;
    this.zeroOffset = options.zeroOffset;
    this.bank.map('holding', 0, { count: 16 });
    this.bank.map('holding', DECIMALS, { writable: true, value: options.decimals });
    this.bank.map('holding', ZERO_OFFSET, { writable: true });
  }

  /** Metres (or mm for mmH2O) as the int16 register at the current decimals, clamped to int16. */
  private scaled(metres: number): number {
    const inUnit = this.unitCode === UNIT_CODES.mmH2O ? metres * 1000 : metres;
    return int16Register(inUnit * 10 ** this.decimals);
  }

  private unscaled(reg: number): number {
    const inUnit = registerToInt16(reg) / 10 ** this.decimals;
    return this.unitCode === UNIT_CODES.mmH2O ? inUnit / 1000 : inUnit;
  }

  protected update(simNow: number): void {
    this.column = this.held ?? Math.max(0, this.river.stage(simNow) - this.options.sensorElevation);
    const measured = Math.min(this.options.rangeFull, this.column) + this.zeroOffset;
    this.bank.set('holding', ADDR, this.unitId);
    this.bank.set('holding', BAUD, this.options.baudCode);
    this.bank.set('holding', UNIT, this.unitCode);
    this.bank.set('holding', DECIMALS, this.decimals);
    this.bank.set('holding', VALUE, this.scaled(measured));
    this.bank.set('holding', RANGE_ZERO, this.scaled(0));
    this.bank.set('holding', RANGE_FULL, this.scaled(this.options.rangeFull));
    this.bank.set('holding', ZERO_OFFSET, this.scaled(this.zeroOffset));
  }

  protected state(): Snapshot {
    return { level: this.column, zeroOffset: this.zeroOffset, decimals: this.decimals, unitCode: this.unitCode };
  }

  protected override applyValue(_name: string, value: number | null): void {
    this.held = value === null ? null : Math.max(0, value);
  }

  protected override validateWrite(_table: Table, address: number, values: readonly number[]): number | undefined {
    const d = values[DECIMALS - address];
    if (d !== undefined && d > 3) return EXCEPTION.ILLEGAL_DATA_VALUE;
    return undefined;
  }

  protected override afterWrite(_table: Table, address: number, values: readonly number[]): void {
    const d = values[DECIMALS - address];
    const z0 = values[ZERO_OFFSET - address];
    if (d !== undefined) this.decimals = d;
    // The offset is read at the decimals in force after this write.
    if (z0 !== undefined) this.zeroOffset = this.unscaled(z0);
    this.refresh();
  }
}
