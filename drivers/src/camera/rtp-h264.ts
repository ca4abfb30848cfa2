/**
 * What a stream check needs from an H.264 RTP payload (RFC 6184): the NAL unit types it starts
 * (single NAL unit, STAP-A aggregate, first FU-A fragment) and any SPS it carries whole, which
 * holds the picture size of the frames that follow.
 */

export const H264_NAL = { idr: 5, sei: 6, sps: 7, pps: 8, aud: 9, stapA: 24, fuA: 28 } as const;

export interface H264PayloadInfo {
  /** Types of the NAL units that begin in this payload (none for a middle or last FU-A fragment). */
  types: number[];
  /** A complete SPS NAL unit (header included) carried in the payload. */
  sps: Buffer | undefined;
}

const MAX_AGGREGATED = 64;

export function inspectH264Payload(payload: Buffer): H264PayloadInfo {
  const out: H264PayloadInfo = { types: [], sps: undefined };
  if (payload.length < 1) return out;
  const type = (payload[0] as number) & 0x1f;
  if (type >= 1 && type <= 23) {
    out.types.push(type);
    if (type === H264_NAL.sps) out.sps = payload;
  } else if (type === H264_NAL.stapA) {
    let pos = 1;
    while (pos + 2 <= payload.length && out.types.length < MAX_AGGREGATED) {
      const size = payload.readUInt16BE(pos);
      pos += 2;
      if (size === 0 || pos + size > payload.length) break;
      const nal = payload.subarray(pos, pos + size);
      const t = (nal[0] as number) & 0x1f;
      out.types.push(t);
      if (t === H264_NAL.sps && !out.sps) out.sps = nal;
      pos += size;
    }
  } else if (type === H264_NAL.fuA && payload.length >= 2) {
    const fu = payload[1] as number;
    if (fu & 0x80) out.types.push(fu & 0x1f);
  }
  return out;
}

/** A NAL unit type that only comes first in an access unit (ITU-T H.264 7.4.1.2.3): a frame starts here. */
export function startsAccessUnit(types: readonly number[]): boolean {
  const first = types[0];
  return first === H264_NAL.aud || first === H264_NAL.sps || first === H264_NAL.pps || first === H264_NAL.sei;
}
