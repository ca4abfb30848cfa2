import type { Logger } from 'pino';
import { SimError } from '../errors.js';
import { FaultSpec, rollFault, type Fault } from '../faults.js';
import { problemsFromZod, formatProblems } from '@cityedge/contract';
import { RegisterBank, type Table } from '../modbus/register-bank.js';
import type { Random } from '../random.js';

/** What a device model gets from the simulation: its identity, simulated time and its own random streams. */
export interface DeviceContext {
  id: string;
  unitId: number;
  /** Simulated epoch milliseconds when the simulation started: behaviour cycles count from here. */
  simStart: number;
  /** Simulated epoch milliseconds (the injected clock, sped up by the time scale). */
  simNow(): number;
  /** Behaviour noise; independent of the fault dice. */
  random: Random;
  /** Dice for intermittent faults. */
  faultRandom: Random;
  logger: Logger;
}

export type Snapshot = Record<string, number | boolean | string>;

/**
 * A simulated field device: a register bank kept up to date lazily (before every request and
 * every snapshot) from a behaviour model over simulated time, plus the fault it shows on the wire.
 */
export abstract class SimDevice {
  abstract readonly model: string;
  readonly id: string;
  readonly unitId: number;
  readonly bank: RegisterBank;
  protected readonly ctx: DeviceContext;
  private currentFault: Fault = { mode: 'none' };

  constructor(ctx: DeviceContext) {
    this.ctx = ctx;
    this.id = ctx.id;
    this.unitId = ctx.unitId;
    this.bank = new RegisterBank({
      beforeAccess: () => this.refresh(),
      validateWrite: (table, address, values) => this.validateWrite(table, address, values),
      afterWrite: (table, address, values) => this.afterWrite(table, address, values),
    });
  }

  /** Brings the registers up to the current simulated time. */
  refresh(): void {
    this.update(this.ctx.simNow());
  }

  get fault(): Fault {
    return this.currentFault;
  }

  /** Sets the fault shown on the wire from now on; accepts the short form ("exception:4@0.5"). Throws SIM_BAD_VALUE. */
  setFault(fault: Fault | string | Record<string, unknown>): void {
    const parsed = FaultSpec.safeParse(fault, { reportInput: true });
    if (!parsed.success) {
      const problems = problemsFromZod(parsed.error, ['fault']);
      throw new SimError('SIM_BAD_VALUE', `${this.id}: ${formatProblems(problems)}`, { problems });
    }
    this.currentFault = parsed.data;
    this.ctx.logger.info({ fault: parsed.data }, 'fault set');
  }

  /** The fault for the next request, or undefined when it goes through normally. */
  rollFault(): Exclude<Fault, { mode: 'none' }> | undefined {
    return rollFault(this.currentFault, this.ctx.faultRandom);
  }

  /** The model's true state now (what the registers should show), for tests and the demo. */
  snapshot(): Snapshot {
    this.refresh();
    return this.state();
  }

  /**
   * Forces a value the model would otherwise produce (null returns it to the model). The names
   * each model accepts are listed in its `settable`.
   */
  setValue(name: string, value: number | null): void {
    if (!this.settable.includes(name)) {
      throw new SimError('SIM_BAD_VALUE', `${this.id}: cannot set "${name}" on a ${this.model}; settable: ${this.settable.join(', ') || '(none)'}`);
    }
    if (value !== null && !Number.isFinite(value)) throw new SimError('SIM_BAD_VALUE', `${this.id}: ${name} must be a finite number or null`);
    this.refresh();
    this.applyValue(name, value);
    this.refresh();
  }

  /** Names setValue accepts. */
  abstract readonly settable: readonly string[];
  protected abstract update(simNow: number): void;
  protected abstract state(): Snapshot;
  protected applyValue(_name: string, _value: number | null): void {}

  /** Veto for a write to a writable address: an exception code (03, 04) or undefined to accept. */
  protected validateWrite(_table: Table, _address: number, _values: readonly number[]): number | undefined {
    return undefined;
  }

  protected afterWrite(_table: Table, _address: number, _values: readonly number[]): void {}
}
