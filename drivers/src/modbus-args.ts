/** A transport call with arguments no Modbus request can carry (unit id, address, count, value). */
export class ModbusArgumentError extends RangeError {
  override readonly name = 'ModbusArgumentError';
  readonly code = 'EDGE_MODBUS_ARGUMENT';
}

/** Protocol limits per request (Modbus application protocol v1.1b3). */
export const LIMITS = {
  readRegisters: 125,
  readBits: 2000,
  writeRegisters: 123,
  writeCoils: 1968,
} as const;

export function checkInt(what: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ModbusArgumentError(`${what} must be an integer ${min}..${max}, got ${String(value)}`);
  }
}

export function checkCommon(unitId: number, address: number, count: number, maxCount: number, timeoutMs: number): void {
  checkInt('unit id', unitId, 0, 255);
  checkInt('address', address, 0, 65535);
  checkInt('count', count, 1, maxCount);
  if (address + count > 65536) {
    throw new ModbusArgumentError(`address ${address} + count ${count} runs past address 65535`);
  }
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ModbusArgumentError(`timeout must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  }
}

export function checkRegisterValues(values: readonly number[]): void {
  values.forEach((v, i) => checkInt(`register value [${i}]`, v, 0, 0xffff));
}

export function checkBoolValues(values: readonly boolean[]): void {
  values.forEach((v, i) => {
    if (typeof v !== 'boolean') throw new ModbusArgumentError(`coil value [${i}] must be true or false, got ${String(v)}`);
  });
}
