import * as z from 'zod';
import { int16Register, registerToInt16 } from '../modbus/word-order.js';
import { smoothNoise } from '../random.js';
import { airTemperature, localHour, relativeHumidity } from './daily-cycle.js';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

const TEMPERATURE = 1;
const HUMIDITY = 2;
const ADDRESS = 0x101;
const BAUD = 0x102;
const TEMP_CORRECTION = 0x103;
const HUMIDITY_CORRECTION = 0x104;

export const Sht20Options = z.strictObject({
  /** Fixes the temperature (C); otherwise it follows a daily cycle. */
  temperature: z.number().min(-40).max(125).optional(),
  /** Fixes the relative humidity (%); otherwise it follows the temperature. */
  humidity: z.number().min(0).max(100).optional(),
  meanTemperature: z.number().min(-20).max(45).default(28),
  meanHumidity: z.number().min(10).max(100).default(75),
  /** Value of the baud-rate holding register (0x102): 0 9600, 1 14400, 2 19200 on these boards. */
  baudCode: z.int().min(0).max(65535).default(0),
});

/**
 * SHT20 RS-485 temperature and humidity board: input registers 1 temperature x10, 2 humidity
 * x10 (FC04); holding 0x101 address, 0x102 baud code, 0x103/0x104 temperature/humidity
 * correction x10 (writable, added to the readings).
 */
export class Sht20 extends SimDevice {
  readonly model = 'sht20';
  readonly settable = ['temperature', 'humidity'] as const;
  private readonly noise: (t: number) => number;
  private heldTemperature: number | undefined;
  private heldHumidity: number | undefined;
  private temperature = 0;
  private humidity = 0;

  constructor(
    ctx: DeviceContext,
    private readonly options: z.infer<typeof Sht20Options>,
  ) {
    super(ctx);
    this.heldTemperature = options.temperature;
    this.heldHumidity = options.humidity;
    this.noise = smoothNoise(ctx.random, 0.2, [5 * 60_000, 17 * 60_000]);
    this.bank.map('input', TEMPERATURE, { count: 2 });
    this.bank.map('holding', ADDRESS, { count: 2 });
    this.bank.map('holding', TEMP_CORRECTION, { count: 2, writable: true });
  }

  protected update(t: number): void {
    const o = this.options;
    const modelT = airTemperature(localHour(t), o.meanTemperature) + this.noise(t);
    const tempCorr = registerToInt16(this.bank.get('holding', TEMP_CORRECTION)) / 10;
    const humCorr = registerToInt16(this.bank.get('holding', HUMIDITY_CORRECTION)) / 10;
    this.temperature = (this.heldTemperature ?? modelT) + tempCorr;
    const rh = this.heldHumidity ?? relativeHumidity(modelT, o.meanHumidity, o.meanTemperature) + 2 * this.noise(t + 1e6);
    this.humidity = Math.min(100, Math.max(0, rh + humCorr));
    this.bank.set('input', TEMPERATURE, int16Register(this.temperature * 10));
    this.bank.set('input', HUMIDITY, int16Register(this.humidity * 10));
    this.bank.set('holding', ADDRESS, this.unitId);
    this.bank.set('holding', BAUD, o.baudCode);
  }

  protected state(): Snapshot {
    return { temperature: this.temperature, humidity: this.humidity };
  }

  protected override applyValue(name: string, value: number | null): void {
    if (name === 'temperature') this.heldTemperature = value ?? undefined;
    else this.heldHumidity = value ?? undefined;
  }

  protected override afterWrite(): void {
    this.refresh();
  }
}
