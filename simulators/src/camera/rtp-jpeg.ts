import type { EncodedJpeg } from './jpeg-encoder.js';

export const RTP_PAYLOAD_JPEG = 26;
export const RTP_CLOCK = 90_000;
/** RFC 2435 type 1: 4:2:0 (Y sampled 2x2), what jpeg-encoder.ts produces. */
export const RTP_JPEG_TYPE = 1;
/** Q >= 128: quantisation tables travel in-band in the first packet of each frame. */
export const RTP_JPEG_Q = 255;

export interface RtpState {
  seq: number;
  ssrc: number;
}

/**
 * Splits one JPEG frame into RTP packets (RFC 3550 header, RFC 2435 main JPEG header, the
 * quantisation table header in the first packet); the marker bit is set on the last packet.
 * Advances state.seq.
 */
export function packetizeJpeg(frame: EncodedJpeg, timestamp: number, state: RtpState, maxPayload = 1400): Buffer[] {
  const packets: Buffer[] = [];
  const scan = frame.scan;
  let offset = 0;
  while (offset < scan.length || (offset === 0 && scan.length === 0)) {
    const first = offset === 0;
    const qHeader = first ? 4 + frame.qtables.length : 0;
    const room = Math.max(1, maxPayload - 8 - qHeader);
    const chunk = scan.subarray(offset, offset + room);
    const last = offset + chunk.length >= scan.length;
    const pkt = Buffer.alloc(12 + 8 + qHeader + chunk.length);
    pkt[0] = 0x80; // V=2, no padding, no extension, no CSRC
    pkt[1] = (last ? 0x80 : 0) | RTP_PAYLOAD_JPEG;
    pkt.writeUInt16BE(state.seq & 0xffff, 2);
    pkt.writeUInt32BE(timestamp >>> 0, 4);
    pkt.writeUInt32BE(state.ssrc >>> 0, 8);
    // RFC 2435 3.1: type-specific (0), 24-bit fragment offset, type, Q, width/8, height/8.
    pkt[12] = 0;
    pkt.writeUIntBE(offset, 13, 3);
    pkt[16] = RTP_JPEG_TYPE;
    pkt[17] = RTP_JPEG_Q;
    pkt[18] = frame.width >> 3;
    pkt[19] = frame.height >> 3;
    if (first) {
      // RFC 2435 3.1.8: MBZ, precision (0 = 8-bit tables), length, then the tables.
      pkt[20] = 0;
      pkt[21] = 0;
      pkt.writeUInt16BE(frame.qtables.length, 22);
      frame.qtables.copy(pkt, 24);
    }
    chunk.copy(pkt, 20 + qHeader);
    packets.push(pkt);
    state.seq = (state.seq + 1) & 0xffff;
    offset += chunk.length;
    if (chunk.length === 0) break;
  }
  return packets;
}

/** RTCP Sender Report (RFC 3550 6.4.1) without report blocks. */
export function senderReport(ssrc: number, wallMs: number, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  const ntpSec = Math.floor(wallMs / 1000) + 2_208_988_800;
  b.writeUInt32BE(ntpSec >>> 0, 8);
  b.writeUInt32BE(Math.floor(((wallMs % 1000) / 1000) * 0x1_0000_0000) >>> 0, 12);
  b.writeUInt32BE(rtpTimestamp >>> 0, 16);
  b.writeUInt32BE(packets >>> 0, 20);
  b.writeUInt32BE(octets >>> 0, 24);
  return b;
}
