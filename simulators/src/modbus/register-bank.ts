/** Modbus data tables: coils (FC01/05/15), discrete inputs (FC02), input registers (FC04), holding registers (FC03/06/16). */
export type Table = 'coil' | 'discrete' | 'input' | 'holding';

/** Exception codes a request can end in. */
export const EXCEPTION = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;

export interface BankHooks {
  /** Called before a request reads or writes, so a device model can bring its registers up to date (lazy update). */
  beforeAccess?(): void;
  /** Lets the device veto a write of mapped, writable addresses: return an exception code (03, 04) or undefined to accept. */
  validateWrite?(table: Table, address: number, values: readonly number[]): number | undefined;
  /** Called after an accepted write has been stored. */
  afterWrite?(table: Table, address: number, values: readonly number[]): void;
}

export type ReadResult = { values: number[] } | { exception: number };

/**
 * The registers of one device: sparse, so the device answers only the addresses its real model
 * has (anything else is exception 02). Bit tables hold 0/1, register tables 0..0xFFFF.
 */
export class RegisterBank {
  private readonly values: Record<Table, Map<number, number>> = {
    coil: new Map(),
    discrete: new Map(),
    input: new Map(),
    holding: new Map(),
  };
  private readonly writable: Record<Table, Set<number>> = {
    coil: new Set(),
    discrete: new Set(),
    input: new Set(),
    holding: new Set(),
  };

  constructor(private readonly hooks: BankHooks = {}) {}

  /** Maps count addresses from address, with an initial value and whether a client may write them. */
  map(table: Table, address: number, options: { count?: number; writable?: boolean; value?: number } = {}): void {
    const count = options.count ?? 1;
    const canWrite = (options.writable ?? false) && (table === 'coil' || table === 'holding');
    for (let a = address; a < address + count; a++) {
      this.values[table].set(a, options.value ?? 0);
      if (canWrite) this.writable[table].add(a);
    }
  }

  isMapped(table: Table, address: number, count = 1): boolean {
    for (let a = address; a < address + count; a++) if (!this.values[table].has(a)) return false;
    return true;
  }

  /** The stored value (0 for an unmapped address). */
  get(table: Table, address: number): number {
    return this.values[table].get(address) ?? 0;
  }

  /** Sets a mapped address from the device model (ignores writability). Throws on an unmapped address: a model bug. */
  set(table: Table, address: number, value: number): void {
    if (!this.values[table].has(address)) throw new Error(`register ${table}:${address} is not mapped`);
    const v = table === 'coil' || table === 'discrete' ? (value ? 1 : 0) : value & 0xffff;
    this.values[table].set(address, v);
  }

  setMany(table: Table, address: number, values: readonly number[]): void {
    values.forEach((v, i) => this.set(table, address + i, v));
  }

  /** A protocol read: every address must be mapped, else exception 02. */
  read(table: Table, address: number, count: number): ReadResult {
    this.hooks.beforeAccess?.();
    if (!this.isMapped(table, address, count)) return { exception: EXCEPTION.ILLEGAL_DATA_ADDRESS };
    const out: number[] = [];
    for (let a = address; a < address + count; a++) out.push(this.get(table, a));
    return { values: out };
  }

  /** A protocol write: unmapped or read-only -> 02; the device may veto with 03/04. Returns the exception code or undefined. */
  write(table: Table, address: number, values: readonly number[]): number | undefined {
    this.hooks.beforeAccess?.();
    for (let i = 0; i < values.length; i++) {
      if (!this.writable[table].has(address + i)) return EXCEPTION.ILLEGAL_DATA_ADDRESS;
    }
    const veto = this.hooks.validateWrite?.(table, address, values);
    if (veto !== undefined) return veto;
    this.setMany(table, address, values);
    this.hooks.afterWrite?.(table, address, values);
    return undefined;
  }
}
