/** Request PDU serving for the simulators' own Modbus server (why not modbus-serial's servers: see ../index.ts). */
import { EXCEPTION, type RegisterBank, type Table } from './register-bank.js';

/** Largest read counts per Modbus Application Protocol 1.1b3, sections 6.1-6.4, 6.11, 6.12. */
const MAX_READ_BITS = 2000;
const MAX_READ_REGS = 125;
const MAX_WRITE_BITS = 1968;
const MAX_WRITE_REGS = 123;

export function exceptionPdu(functionCode: number, code: number): Buffer {
  return Buffer.from([(functionCode | 0x80) & 0xff, code & 0xff]);
}

/** True when the PDU is a request that only writes (FC05/06/15/16): the kind a broadcast may carry. */
export function isWriteRequest(pdu: Uint8Array): boolean {
  const fc = pdu[0];
  return fc === 5 || fc === 6 || fc === 15 || fc === 16;
}

/**
 * Serves one request PDU (function code + data) against a device's register bank and returns
 * the response PDU: data, an echo for writes, or an exception (01 unknown function, 02 address
 * not mapped or read-only, 03 bad count/value/length, or the device's own veto).
 */
export function servePdu(req: Uint8Array, bank: RegisterBank): Buffer {
  const fc = req[0] ?? 0;
  const pdu = Buffer.from(req.buffer, req.byteOffset, req.byteLength);
  switch (fc) {
    case 1:
    case 2:
      return readBits(pdu, fc === 1 ? 'coil' : 'discrete', bank);
    case 3:
    case 4:
      return readRegisters(pdu, fc === 3 ? 'holding' : 'input', bank);
    case 5:
      return writeSingleCoil(pdu, bank);
    case 6:
      return writeSingleRegister(pdu, bank);
    case 15:
      return writeMultipleCoils(pdu, bank);
    case 16:
      return writeMultipleRegisters(pdu, bank);
    default:
      return exceptionPdu(fc, EXCEPTION.ILLEGAL_FUNCTION);
  }
}

function outOfSpace(address: number, count: number): boolean {
  return address + count > 0x10000;
}

function readBits(pdu: Buffer, table: Table, bank: RegisterBank): Buffer {
  const fc = pdu[0] ?? 0;
  if (pdu.length !== 5) return exceptionPdu(fc, EXCEPTION.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const count = pdu.readUInt16BE(3);
  if (count < 1 || count > MAX_READ_BITS) return exceptionPdu(fc, EXCEPTION.ILLEGAL_DATA_VALUE);
  if (outOfSpace(address, count)) return exceptionPdu(fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
  const result = bank.read(table, address, count);
  if ('exception' in result) return exceptionPdu(fc, result.exception);
  const byteCount = Math.ceil(count / 8);
  const out = Buffer.alloc(2 + byteCount);
  out[0] = fc;
  out[1] = byteCount;
  result.values.forEach((v, i) => {
    if (v) out[2 + (i >> 3)] = (out[2 + (i >> 3)] ?? 0) | (1 << (i & 7));
  });
  return out;
}

function readRegisters(pdu: Buffer, table: Table, bank: RegisterBank): Buffer {
  const fc = pdu[0] ?? 0;
  if (pdu.length !== 5) return exceptionPdu(fc, EXCEPTION.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const count = pdu.readUInt16BE(3);
  if (count < 1 || count > MAX_READ_REGS) return exceptionPdu(fc, EXCEPTION.ILLEGAL_DATA_VALUE);
  if (outOfSpace(address, count)) return exceptionPdu(fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
  const result = bank.read(table, address, count);
  if ('exception' in result) return exceptionPdu(fc, result.exception);
  const out = Buffer.alloc(2 + 2 * count);
  out[0] = fc;
  out[1] = 2 * count;
  result.values.forEach((v, i) => out.writeUInt16BE(v, 2 + 2 * i));
  return out;
}

function writeSingleCoil(pdu: Buffer, bank: RegisterBank): Buffer {
  if (pdu.length !== 5) return exceptionPdu(5, EXCEPTION.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const raw = pdu.readUInt16BE(3);
  if (raw !== 0xff00 && raw !== 0x0000) return exceptionPdu(5, EXCEPTION.ILLEGAL_DATA_VALUE);
  const exception = bank.write('coil', address, [raw === 0xff00 ? 1 : 0]);
  return exception === undefined ? Buffer.from(pdu) : exceptionPdu(5, exception);
}

function writeSingleRegister(pdu: Buffer, bank: RegisterBank): Buffer {
  if (pdu.length !== 5) return exceptionPdu(6, EXCEPTION.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const exception = bank.write('holding', address, [pdu.readUInt16BE(3)]);
  return exception === undefined ? Buffer.from(pdu) : exceptionPdu(6, exception);
}

function writeMultipleCoils(pdu: Buffer, bank: RegisterBank): Buffer {
  if (pdu.length < 6) return exceptionPdu(15, EXCEPTION.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const count = pdu.readUInt16BE(3);
  const byteCount = pdu[5] ?? 0;
  if (count < 1 || count > MAX_WRITE_BITS || byteCount !== Math.ceil(count / 8) || pdu.length !== 6 + byteCount) {
    return exceptionPdu(15, EXCEPTION.ILLEGAL_DATA_VALUE);
  }
  if (outOfSpace(address, count)) return exceptionPdu(15, EXCEPTION.ILLEGAL_DATA_ADDRESS);
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(((pdu[6 + (i >> 3)] ?? 0) >> (i & 7)) & 1);
  const exception = bank.write('coil', address, values);
  return exception === undefined ? Buffer.from(pdu.subarray(0, 5)) : exceptionPdu(15, exception);
}

function writeMultipleRegisters(pdu: Buffer, bank: RegisterBank): Buffer {
  if (pdu.length < 6) return exceptionPdu(16, EXCEPTION.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const count = pdu.readUInt16BE(3);
  const byteCount = pdu[5] ?? 0;
  if (count < 1 || count > MAX_WRITE_REGS || byteCount !== 2 * count || pdu.length !== 6 + byteCount) {
    return exceptionPdu(16, EXCEPTION.ILLEGAL_DATA_VALUE);
  }
  if (outOfSpace(address, count)) return exceptionPdu(16, EXCEPTION.ILLEGAL_DATA_ADDRESS);
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(pdu.readUInt16BE(6 + 2 * i));
  const exception = bank.write('holding', address, values);
  return exception === undefined ? Buffer.from(pdu.subarray(0, 5)) : exceptionPdu(16, exception);
}
