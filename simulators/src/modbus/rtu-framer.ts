import { crcMatches, withCrc } from './crc16.js';

export interface RtuRequest {
  unitId: number;
  pdu: Buffer;
}

/** Largest RTU frame is 256 bytes; keep a little more so a frame after some garbage still fits. */
const MAX_BUFFER = 300;

/**
 * Expected length of a request frame starting at i: fixed for FC01-06 (8 bytes), from the byte
 * count for FC15/16; also for the other standard function codes so an unsupported one is still
 * delimited and can be answered with exception 01. 'more' = not enough bytes yet to tell;
 * 'unknown' = not a function code with a known request length.
 */
function expectedLength(buf: Buffer, i: number): number | 'more' | 'unknown' {
  if (i + 2 > buf.length) return 'more';
  const fc = buf[i + 1] ?? 0;
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 8:
      return 8;
    case 7:
    case 11:
    case 12:
    case 17:
      return 4;
    case 15:
    case 16:
      return i + 7 > buf.length ? 'more' : 9 + (buf[i + 6] ?? 0);
    case 22:
      return 10;
    case 23:
      return i + 11 > buf.length ? 'more' : 13 + (buf[i + 10] ?? 0);
    case 43:
      return 7;
    default:
      return 'unknown';
  }
}

/**
 * Finds Modbus RTU request frames in a byte stream. A frame ends where its function code says
 * it does; a frame whose CRC does not match is dropped silently (a real device never answers
 * it) and the decoder slides forward to resynchronise. Bytes after a silence longer than gapMs
 * start afresh, so garbage can never wedge it.
 */
export class RtuRequestDecoder {
  private buf = Buffer.alloc(0);
  private lastByteAt = Number.NEGATIVE_INFINITY;
  private readonly gapMs: number;
  private readonly now: () => number;

  constructor(options: { gapMs: number; now?: () => number }) {
    this.gapMs = options.gapMs;
    this.now = options.now ?? (() => performance.now());
  }

  /** Bytes held waiting for the rest of a frame (for tests and stats). */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): RtuRequest[] {
    const t = this.now();
    if (t - this.lastByteAt > this.gapMs) this.buf = Buffer.alloc(0);
    this.lastByteAt = t;
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > MAX_BUFFER) this.buf = this.buf.subarray(this.buf.length - MAX_BUFFER);
    const frames: RtuRequest[] = [];
    for (;;) {
      const frame = this.takeFrame();
      if (!frame) break;
      frames.push(frame);
    }
    return frames;
  }

  private takeFrame(): RtuRequest | undefined {
    const buf = this.buf;
    let keepFrom = -1;
    for (let i = 0; i < buf.length; i++) {
      const len = expectedLength(buf, i);
      let end: number;
      if (len === 'more') {
        if (keepFrom < 0) keepFrom = i;
        continue;
      } else if (len === 'unknown') {
        if (buf.length - i >= 4 && crcMatches(buf, i, buf.length)) end = buf.length;
        else {
          if (keepFrom < 0) keepFrom = i;
          continue;
        }
      } else if (i + len > buf.length) {
        if (keepFrom < 0) keepFrom = i;
        continue;
      } else if (crcMatches(buf, i, i + len)) end = i + len;
      else continue;
      const frame: RtuRequest = { unitId: buf[i] ?? 0, pdu: Buffer.from(buf.subarray(i + 1, end - 2)) };
      this.buf = buf.subarray(end);
      return frame;
    }
    this.buf = keepFrom < 0 ? Buffer.alloc(0) : buf.subarray(keepFrom);
    return undefined;
  }
}

/** unit id + PDU + CRC. */
export function encodeRtu(unitId: number, pdu: Uint8Array): Buffer {
  const frame = Buffer.alloc(1 + pdu.length);
  frame[0] = unitId & 0xff;
  frame.set(pdu, 1);
  return withCrc(frame);
}
