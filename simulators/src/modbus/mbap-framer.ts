export interface MbapRequest {
  transactionId: number;
  unitId: number;
  pdu: Buffer;
}

/** The MBAP length field counts the unit id and the PDU: 2..254 (a PDU is at most 253 bytes). */
const MIN_LENGTH = 2;
const MAX_LENGTH = 254;

/**
 * Splits a Modbus TCP byte stream into requests: several frames in one chunk and frames split
 * across chunks. A header with a protocol id other than 0 or an impossible length marks the
 * stream malformed; the caller closes the connection, as real servers do.
 */
export class MbapDecoder {
  private buf = Buffer.alloc(0);

  push(chunk: Buffer): { frames: MbapRequest[]; malformed: boolean } {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: MbapRequest[] = [];
    while (this.buf.length >= 7) {
      const protocolId = this.buf.readUInt16BE(2);
      const length = this.buf.readUInt16BE(4);
      if (protocolId !== 0 || length < MIN_LENGTH || length > MAX_LENGTH) {
        this.buf = Buffer.alloc(0);
        return { frames, malformed: true };
      }
      if (this.buf.length < 6 + length) break;
      frames.push({
        transactionId: this.buf.readUInt16BE(0),
        unitId: this.buf[6] ?? 0,
        pdu: Buffer.from(this.buf.subarray(7, 6 + length)),
      });
      this.buf = this.buf.subarray(6 + length);
    }
    return { frames, malformed: false };
  }
}

export function encodeMbap(transactionId: number, unitId: number, pdu: Uint8Array, protocolId = 0): Buffer {
  const out = Buffer.alloc(7 + pdu.length);
  out.writeUInt16BE(transactionId & 0xffff, 0);
  out.writeUInt16BE(protocolId & 0xffff, 2);
  out.writeUInt16BE(pdu.length + 1, 4);
  out[6] = unitId & 0xff;
  out.set(pdu, 7);
  return out;
}
