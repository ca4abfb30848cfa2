import * as z from 'zod';
import { EXCEPTION, type Table } from '../modbus/register-bank.js';
import { float32Registers, type WordOrder } from '../modbus/word-order.js';
import { RiverModel, riverOptions } from './river.js';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

/** Register 3000 codes: 0 ABCD (default), 1 CDAB, 2 DCBA, 3 BADC. */
const WORD_ORDER_CODES: readonly WordOrder[] = ['ABCD', 'CDAB', 'DCBA', 'BADC'];
const STATUS = 100;
const PV_UNIT = 104;
const PV = 106;
const WORD_ORDER_REG = 3000;

export const VegapulsC21Options = z.strictObject({
  ...riverOptions,
  /** Initial word order of the PV float (register 3000); a client may change it by writing 3000. */
  wordOrder: z.enum(['ABCD', 'CDAB', 'DCBA', 'BADC']).default('ABCD'),
  /** PV unit: m (code 45) or mm (code 49). */
  unit: z.enum(['m', 'mm']).default('m'),
});
export type VegapulsC21Options = z.input<typeof VegapulsC21Options>;

/**
 * VEGAPULS C 21 radar level sensor configured to output the water stage as PV. Holding
 * registers 100..107 (100 status bits: 0-3 PV/SV/TV/QV invalid; 104 PV unit; 106-107 PV
 * float32 in the word order of register 3000) and 3000 (word order, writable 0..3).
 */
export class VegapulsC21 extends SimDevice {
  readonly model = 'vegapuls-c21';
  readonly settable = ['level', 'status'] as const;
  private readonly river: RiverModel;
  private readonly unitCode: number;
  private held: number | null = null;
  private status = 0;
  private level = 0;

  constructor(ctx: DeviceContext, options: z.infer<typeof VegapulsC21Options>) {
    super(ctx);
    this.river = new RiverModel(options, ctx.simStart, ctx.random);
    this.unitCode = options.unit === 'mm' ? 49 : 45;
    this.bank.map('holding', STATUS, { count: 8 });
    this.bank.map('holding', WORD_ORDER_REG, { writable: true, value: WORD_ORDER_CODES.indexOf(options.wordOrder) });
  }

  get wordOrder(): WordOrder {
    return WORD_ORDER_CODES[this.bank.get('holding', WORD_ORDER_REG)] ?? 'ABCD';
  }

  protected update(simNow: number): void {
    this.level = this.held ?? this.river.stage(simNow);
    const pv = this.unitCode === 49 ? this.level * 1000 : this.level;
    this.bank.set('holding', STATUS, this.status);
    this.bank.set('holding', PV_UNIT, this.unitCode);
    this.bank.setMany('holding', PV, float32Registers(pv, this.wordOrder));
  }

  protected state(): Snapshot {
    return { level: this.level, status: this.status, unitCode: this.unitCode, wordOrder: this.wordOrder };
  }

  protected override applyValue(name: string, value: number | null): void {
    if (name === 'level') this.held = value === null ? null : Math.max(0, value);
    else if (name === 'status') this.status = (value ?? 0) & 0xffff;
  }

  protected override validateWrite(_table: Table, address: number, values: readonly number[]): number | undefined {
    const i = WORD_ORDER_REG - address;
    const v = values[i];
    if (v !== undefined && (v < 0 || v > 3)) return EXCEPTION.ILLEGAL_DATA_VALUE;
    return undefined;
  }

  protected override afterWrite(): void {
    this.refresh();
  }
}
