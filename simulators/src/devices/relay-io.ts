import * as z from 'zod';
import { SimDevice, type DeviceContext, type Snapshot } from './sim-device.js';

const CHANNELS = 8;

export const RelayIoOptions = z.strictObject({
  /** Initial states of the digital inputs 1..8 (e.g. a float switch on input 1). */
  inputs: z.array(z.boolean()).max(CHANNELS).default([]),
});

/**
 * An 8-channel Modbus RTU relay board with digital inputs (as the common DIN-rail modules,
 * e.g. Waveshare "Modbus RTU Relay (D)"): relays on coils 0..7 (FC01 read, FC05/FC15 write),
 * opto-isolated inputs on discrete inputs 0..7 (FC02). Sites hang a siren, a beacon or a pump
 * on the relays and a float switch or door contact on the inputs. Every relay change is kept
 * in `history` (time and states), so tests can check a warning pattern.
 */
export class RelayIo extends SimDevice {
  readonly model = 'relay-io';
  readonly settable = Array.from({ length: CHANNELS }, (_, i) => `in${i + 1}`);
  /** Relay states after every accepted write, with the simulated time. */
  readonly history: Array<{ t: number; relays: boolean[] }> = [];

  constructor(ctx: DeviceContext, options: z.infer<typeof RelayIoOptions>) {
    super(ctx);
    this.bank.map('coil', 0, { count: CHANNELS, writable: true });
    this.bank.map('discrete', 0, { count: CHANNELS });
    options.inputs.forEach((on, i) => this.bank.set('discrete', i, on ? 1 : 0));
  }

  relays(): boolean[] {
    return Array.from({ length: CHANNELS }, (_, i) => this.bank.get('coil', i) === 1);
  }

  protected update(): void {}

  protected state(): Snapshot {
    const s: Snapshot = {};
    this.relays().forEach((on, i) => (s[`relay${i + 1}`] = on ? 1 : 0));
    for (let i = 0; i < CHANNELS; i++) s[`in${i + 1}`] = this.bank.get('discrete', i);
    return s;
  }

  protected override applyValue(name: string, value: number | null): void {
    this.bank.set('discrete', Number(name.slice(2)) - 1, value ? 1 : 0);
  }

  protected override afterWrite(): void {
    this.history.push({ t: this.ctx.simNow(), relays: this.relays() });
  }
}
