/**
 * modbus-serial's TcpPort frames replies by the MBAP length field alone: it ignores the
 * protocol identifier (which must be 0 for Modbus) and accepts any length, so a reply from
 * something that is not a Modbus server (or a broken gateway) is decoded as registers. This
 * guard reads the same bytes beside it (a listener on the socket, ahead of TcpPort's) and
 * reports the first reply header that cannot be Modbus TCP.
 */
const HEADER = 7; // transaction id (2), protocol id (2), length (2), unit id (1)
/** The largest length field a Modbus TCP reply can carry: unit id + a 253-byte PDU. */
const MAX_LENGTH = 254;

/** Never written into: `buffer` is only ever replaced. */
const NO_BYTES = Buffer.alloc(0);

export class MbapGuard {
  private buffer: Buffer = NO_BYTES;

  /** Forgets bytes seen so far (a new request starts clean, as TcpPort's buffer does). */
  reset(): void {
    this.buffer = NO_BYTES;
  }

  /** Feeds received bytes; returns why they cannot be Modbus TCP, or undefined. */
  feed(chunk: Buffer): string | undefined {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= HEADER) {
      const protocol = this.buffer.readUInt16BE(2);
      const length = this.buffer.readUInt16BE(4);
      if (protocol !== 0) return this.bad(`a reply with protocol identifier 0x${protocol.toString(16).padStart(4, '0')} (Modbus is 0)`);
      if (length < 2 || length > MAX_LENGTH) return this.bad(`a reply with an MBAP length of ${length} (2..${MAX_LENGTH})`);
      if (this.buffer.length < 6 + length) return undefined;
      this.buffer = this.buffer.subarray(6 + length);
    }
    return undefined;
  }

  private bad(why: string): string {
    this.reset();
    return why;
  }
}
