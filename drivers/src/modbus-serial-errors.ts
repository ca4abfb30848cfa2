import { ModbusError } from './modbus-transport.js';

/** One request, for error messages: "unit 1 FC04 address 1 count 2". */
export interface RequestInfo {
  unitId: number;
  fc: number;
  address: number;
  count: number;
}

export function describeRequest(req: RequestInfo): string {
  return `unit ${req.unitId} FC${req.fc.toString().padStart(2, '0')} address ${req.address} count ${req.count}`;
}

const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

interface LibraryError {
  name?: unknown;
  message?: unknown;
  modbusCode?: unknown;
}

/**
 * Maps what modbus-serial 8 reports to a ModbusError. The library has no error codes of its own:
 * - TransactionTimedOutError (name, errno ETIMEDOUT): no complete reply within client.setTimeout();
 * - an Error with `modbusCode`: an exception reply (function code | 0x80);
 * - "CRC error": a frame whose CRC does not match (only RTU framing can produce it; for Modbus
 *   TCP the port computes the CRC itself);
 * - "Data length error ...", "Unexpected data error ... address/code": a reply of the wrong size,
 *   unit or function; a RangeError from its parsers: a reply whose byte count lies;
 * - PortNotOpenError: the port or socket is closed.
 * `strayBytes` is what the port had buffered without making a frame of it: a timeout with bytes
 * received is a garbled reply (FRAME), not silence.
 */
export function mapLibraryError(err: unknown, req: RequestInfo, where: string, timeoutMs: number, strayBytes?: Buffer): ModbusError {
  if (err instanceof ModbusError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as LibraryError;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const context = `(${describeRequest(req)}, ${where})`;
  if (typeof e.modbusCode === 'number') {
    const code = e.modbusCode;
    const hex = code.toString(16).padStart(2, '0').toUpperCase();
    return new ModbusError('EDGE_MODBUS_EXCEPTION', `exception ${hex} ${EXCEPTION_NAMES[code] ?? 'unknown'} ${context}`, {
      cause: err,
      exceptionCode: code,
    });
  }
  if (e.name === 'TransactionTimedOutError') {
    if (strayBytes && strayBytes.length > 0) {
      return new ModbusError('EDGE_MODBUS_FRAME', `no valid reply within ${timeoutMs} ms, ${strayBytes.length} unexpected bytes received (${hexPreview(strayBytes)}) ${context}`, {
        cause: err,
      });
    }
    return new ModbusError('EDGE_MODBUS_TIMEOUT', `no reply within ${timeoutMs} ms ${context}`, { cause: err });
  }
  if (e.name === 'PortNotOpenError') {
    return new ModbusError('EDGE_MODBUS_PORT', `${where} is not open ${context}`, { cause: err });
  }
  if (message === 'CRC error') {
    return new ModbusError('EDGE_MODBUS_CRC', `reply with a bad CRC ${context}`, { cause: err });
  }
  if (message.startsWith('Data length error') || message.startsWith('Unexpected data error') || err instanceof RangeError) {
    return new ModbusError('EDGE_MODBUS_FRAME', `invalid reply: ${message} ${context}`, { cause: err });
  }
  return new ModbusError('EDGE_MODBUS_FRAME', `${message} ${context}`, { cause: err });
}

export function hexPreview(bytes: Buffer, max = 16): string {
  const head = [...bytes.subarray(0, max)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${head} ...` : head;
}
