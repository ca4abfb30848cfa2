/**
 * Picture size from an H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1), as carried base64
 * in the SDP's `sprop-parameter-sets` (RFC 6184): most cameras stream H.264 and announce no
 * a=framesize, so this is where their resolution is.
 */

class BitReader {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  bit(): number {
    const byte = this.bytes[this.pos >> 3];
    if (byte === undefined) throw new RangeError('SPS truncated');
    const b = (byte >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  /** Unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}

/** Removes emulation-prevention bytes (00 00 03 -> 00 00). */
function rbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i] as number);
  }
  return Uint8Array.from(out);
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Width and height coded in an SPS NAL unit (with its 1-byte NAL header), or undefined. */
export function parseSpsResolution(nal: Uint8Array): { width: number; height: number } | undefined {
  if (nal.length < 4 || ((nal[0] as number) & 0x1f) !== 7) return undefined;
  try {
    const r = new BitReader(rbsp(nal.subarray(1)));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chromaFormat = 1;
    if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
      chromaFormat = r.ue();
      if (chromaFormat === 3) r.bit();
      r.ue(); // bit_depth_luma
      r.ue(); // bit_depth_chroma
      r.bit(); // qpprime_y_zero_transform_bypass
      if (r.bit()) {
        for (let i = 0; i < (chromaFormat !== 3 ? 8 : 12); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
    r.ue(); // log2_max_frame_num
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const n = r.ue();
      if (n > 255) return undefined;
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit(); // gaps_in_frame_num_allowed
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit();
    r.bit(); // direct_8x8_inference
    let crop = { l: 0, r: 0, t: 0, b: 0 };
    if (r.bit()) crop = { l: r.ue(), r: r.ue(), t: r.ue(), b: r.ue() };
    const subW = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
    const subH = chromaFormat === 1 ? 2 : 1;
    const cropUnitX = chromaFormat === 0 ? 1 : subW;
    const cropUnitY = (chromaFormat === 0 ? 1 : subH) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropUnitX * (crop.l + crop.r);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (crop.t + crop.b);
    return width > 0 && height > 0 && width <= 16384 && height <= 16384 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** Resolution from an H.264 a=fmtp line's sprop-parameter-sets. */
export function h264Resolution(fmtp: string | undefined): { width: number; height: number } | undefined {
  const sets = /sprop-parameter-sets=([^;\s]+)/i.exec(fmtp ?? '')?.[1];
  if (!sets) return undefined;
  for (const b64 of sets.split(',')) {
    const size = parseSpsResolution(Buffer.from(b64, 'base64'));
    if (size) return size;
  }
  return undefined;
}
