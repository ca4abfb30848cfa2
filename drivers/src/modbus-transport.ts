import { EdgeError } from '@cityedge/contract';
/**
 * A Modbus transport is one physical or logical bus: a serial line (RTU), a Modbus TCP endpoint,
 * or an RS-485 device server carrying RTU frames over TCP. It performs one transaction at a time
 * and does not queue: the line scheduler that owns it serialises calls and keeps the
 * inter-frame gap between them.
 */
export type ModbusErrorCode =
  /** No (complete) reply within the timeout. */
  | 'EDGE_MODBUS_TIMEOUT'
  /** The device answered with a Modbus exception (see exceptionCode). */
  | 'EDGE_MODBUS_EXCEPTION'
  /** A reply whose CRC did not match. */
  | 'EDGE_MODBUS_CRC'
  /** A reply that is not a valid answer to the request (wrong unit, function, length, garbage). */
  | 'EDGE_MODBUS_FRAME'
  /** The port or socket could not be opened, or is closed. */
  | 'EDGE_MODBUS_PORT';

export class ModbusError extends EdgeError<ModbusErrorCode> {
  override readonly name = 'ModbusError';
  /** Modbus exception code 0x01..0x0B when code is EDGE_MODBUS_EXCEPTION. */
  readonly exceptionCode: number | undefined;

  constructor(code: ModbusErrorCode, message: string, options: { cause?: unknown; exceptionCode?: number } = {}) {
    super(code, message, options);
    this.exceptionCode = options.exceptionCode;
  }
}

export type BitTable = 'coil' | 'discrete';
export type WordTable = 'holding' | 'input';

export interface ModbusTransport {
  readonly kind: 'rtu' | 'tcp' | 'rtu-over-tcp';
  /** Where it talks, for logs: "/dev/ttyUSB0 9600 8N1", "10.0.0.5:502". Never contains secrets. */
  readonly description: string;
  readonly isOpen: boolean;
  /** Opens the port or connects; rejects with EDGE_MODBUS_PORT. Safe to call again after a failure. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** FC01 (coil) / FC02 (discrete). */
  readBits(unitId: number, table: BitTable, address: number, count: number, timeoutMs: number): Promise<boolean[]>;
  /** FC03 (holding) / FC04 (input). */
  readRegisters(unitId: number, table: WordTable, address: number, count: number, timeoutMs: number): Promise<number[]>;
  /** FC05. */
  writeCoil(unitId: number, address: number, value: boolean, timeoutMs: number): Promise<void>;
  /** FC15. */
  writeCoils(unitId: number, address: number, values: boolean[], timeoutMs: number): Promise<void>;
  /** FC06. */
  writeRegister(unitId: number, address: number, value: number, timeoutMs: number): Promise<void>;
  /** FC16. */
  writeRegisters(unitId: number, address: number, values: number[], timeoutMs: number): Promise<void>;
}
