/** RTP (RFC 3550) fixed header and the RFC 2435 JPEG payload header. */

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** The payload, without header, CSRCs, extension and padding. */
  payload: Buffer;
}

/** Parses one RTP packet; undefined when it is not valid RTP version 2. */
export function parseRtp(buf: Buffer): RtpPacket | undefined {
  if (buf.length < 12) return undefined;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  if (b0 >> 6 !== 2) return undefined;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (extension) {
    if (buf.length < offset + 4) return undefined;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (padding) end -= buf[buf.length - 1] as number;
  if (offset > end) return undefined;
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
  };
}

export interface JpegRtpHeader {
  typeSpecific: number;
  fragmentOffset: number;
  type: number;
  q: number;
  width: number;
  height: number;
}

/** The 8-byte RFC 2435 main JPEG header; width and height are sent in units of 8 pixels. */
export function parseJpegRtpHeader(payload: Buffer): JpegRtpHeader | undefined {
  if (payload.length < 8) return undefined;
  const width = (payload[6] as number) * 8;
  const height = (payload[7] as number) * 8;
  if (width === 0 || height === 0) return undefined;
  return {
    typeSpecific: payload[0] as number,
    fragmentOffset: payload.readUIntBE(1, 3),
    type: payload[4] as number,
    q: payload[5] as number,
    width,
    height,
  };
}
