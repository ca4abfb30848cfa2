import { encodeMbap } from '../modbus/mbap-framer.js';
import { encodeRtu } from '../modbus/rtu-framer.js';
import type { Random } from '../random.js';
import type { DeviceReply } from './serve.js';

export interface WireReply {
  bytes: Buffer;
  /** Wait this long (real milliseconds) before sending. */
  delayMs: number;
}

function randomBytes(random: Random, min: number, max: number): Buffer {
  const n = min + Math.floor(random() * (max - min + 1));
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Half the frame (at least one byte, never all of it). */
function truncate(frame: Buffer): Buffer {
  return frame.subarray(0, Math.max(1, Math.floor(frame.length / 2)));
}

/** RTU reply bytes as a faulty device would put them on the line. */
export function renderRtu(unitId: number, reply: DeviceReply, random: Random): WireReply {
  const fault = reply.fault;
  switch (fault?.mode) {
    case 'crc-error': {
      const frame = encodeRtu(unitId, reply.pdu);
      frame[frame.length - 2] = (frame[frame.length - 2] ?? 0) ^ 0x5a;
      frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0xa5;
      return { bytes: frame, delayMs: 0 };
    }
    case 'garbage':
      return { bytes: randomBytes(random, 3, 16), delayMs: 0 };
    case 'truncated':
      return { bytes: truncate(encodeRtu(unitId, reply.pdu)), delayMs: 0 };
    case 'wrong-unit':
      return { bytes: encodeRtu(fault.unitId ?? (unitId % 247) + 1, reply.pdu), delayMs: 0 };
    case 'slow':
      return { bytes: encodeRtu(unitId, reply.pdu), delayMs: fault.delayMs };
    default:
      return { bytes: encodeRtu(unitId, reply.pdu), delayMs: 0 };
  }
}

/**
 * Modbus TCP reply bytes with the fault applied. TCP has no CRC: a "crc-error" is a corrupted
 * frame instead, with protocol id 0xFFFF in the MBAP header and the last PDU byte flipped.
 */
export function renderTcp(transactionId: number, unitId: number, reply: DeviceReply, random: Random): WireReply {
  const fault = reply.fault;
  switch (fault?.mode) {
    case 'crc-error': {
      const frame = encodeMbap(transactionId, unitId, reply.pdu, 0xffff);
      frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0xff;
      return { bytes: frame, delayMs: 0 };
    }
    case 'garbage':
      return { bytes: randomBytes(random, 3, 16), delayMs: 0 };
    case 'truncated':
      return { bytes: truncate(encodeMbap(transactionId, unitId, reply.pdu)), delayMs: 0 };
    case 'wrong-unit':
      return { bytes: encodeMbap(transactionId, fault.unitId ?? (unitId + 1) & 0xff, reply.pdu), delayMs: 0 };
    case 'slow':
      return { bytes: encodeMbap(transactionId, unitId, reply.pdu), delayMs: fault.delayMs };
    default:
      return { bytes: encodeMbap(transactionId, unitId, reply.pdu), delayMs: 0 };
  }
}
