/**
 * Baseline JPEG encoder, 4:2:0 (Y sampled 2x2), standard Huffman tables (ITU T.81 Annex K).
 *
 * Why our own and not jpeg-js: jpeg-js encodes 4:4:4 only, and RTP/JPEG (RFC 2435) can carry
 * only types 0 (4:2:2) and 1 (4:2:0) with the standard Huffman tables; a receiver such as ffmpeg
 * rebuilds the headers from the type, the quantisation tables and the size. Encoding 4:2:0
 * ourselves lets the snapshot and the RTSP stream share the very same frames. jpeg-js's decoder
 * checks the output in the tests.
 */

/** A frame in planar Y'CbCr 4:2:0: y is width x height, cb and cr are ceil(width/2) x ceil(height/2). */
export interface PlanarFrame {
  width: number;
  height: number;
  y: Uint8Array;
  cb: Uint8Array;
  cr: Uint8Array;
}

export interface EncodedJpeg {
  /** The complete JFIF file. */
  jpeg: Buffer;
  /** Entropy-coded scan data (between the SOS header and EOI), as RFC 2435 carries it. */
  scan: Buffer;
  /** Luma then chroma quantisation table, 64 bytes each in zigzag order (as in DQT and RFC 2435). */
  qtables: Buffer;
  width: number;
  height: number;
}

/** Natural (row-major) index of the k-th coefficient in zigzag order. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30,
  37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35,
  55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, ...new Array<number>(38).fill(99),
];

const hex = (s: string): number[] => (s.match(/../g) ?? []).map((h) => parseInt(h, 16));
/** Annex K.3 tables: BITS (counts of codes of length 1..16) and HUFFVAL. */
const DC_LUMA = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], vals: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const DC_CHROMA = { bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], vals: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const AC_LUMA = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  vals: hex(
    '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa',
  ),
};
const AC_CHROMA = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  vals: hex(
    '000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa',
  ),
};

interface HuffTable {
  code: Uint16Array;
  size: Uint8Array;
}

function buildHuffman(spec: { bits: number[]; vals: number[] }): HuffTable {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < (spec.bits[len - 1] ?? 0); i++) {
      const v = spec.vals[k++] ?? 0;
      code[v] = c++;
      size[v] = len;
    }
    c <<= 1;
  }
  return { code, size };
}

const HT = { dcY: buildHuffman(DC_LUMA), dcC: buildHuffman(DC_CHROMA), acY: buildHuffman(AC_LUMA), acC: buildHuffman(AC_CHROMA) };

/** IJG quality scaling (the same as RFC 2435 Appendix A for Q 1..99); result in zigzag order. */
export function quantTable(base: readonly number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  const out = new Uint8Array(64);
  for (let k = 0; k < 64; k++) out[k] = Math.min(255, Math.max(1, Math.floor(((base[ZIGZAG[k] ?? 0] ?? 1) * scale + 50) / 100)));
  return out;
}

/** c[u*8+x] = C(u)/2 * cos((2x+1)u pi / 16): the orthonormal 8-point DCT-II matrix. */
const COS = new Float64Array(64);
for (let u = 0; u < 8; u++) for (let x = 0; x < 8; x++) COS[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);

class BitWriter {
  private buf = Buffer.alloc(65536);
  private len = 0;
  private acc = 0;
  private nbits = 0;

  /** Appends the low `size` bits of code (size <= 16), most significant first. */
  write(code: number, size: number): void {
    this.acc = (this.acc << size) | (code & ((1 << size) - 1));
    this.nbits += size;
    while (this.nbits >= 8) {
      this.nbits -= 8;
      const byte = (this.acc >>> this.nbits) & 0xff;
      this.push(byte);
      if (byte === 0xff) this.push(0x00); // byte stuffing
    }
    this.acc &= (1 << this.nbits) - 1;
  }

  private push(b: number): void {
    if (this.len === this.buf.length) {
      const next = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(next);
      this.buf = next;
    }
    this.buf[this.len++] = b;
  }

  /** Pads the last byte with 1-bits and returns the data. */
  finish(): Buffer {
    if (this.nbits > 0) this.write(0x7f >> (this.nbits - 1), 8 - this.nbits);
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

const block = new Float64Array(64);
const tmp = new Float64Array(64);
const coefs = new Int32Array(64);

/** Loads an 8x8 block at (bx, by) of a plane (edges repeated), applies the DCT and quantises into coefs (zigzag). */
function transform(plane: Uint8Array, stride: number, rows: number, bx: number, by: number, qt: Uint8Array): void {
  let flat = true;
  for (let y = 0; y < 8; y++) {
    const row = Math.min(by + y, rows - 1) * stride;
    for (let x = 0; x < 8; x++) block[y * 8 + x] = (plane[row + Math.min(bx + x, stride - 1)] ?? 0) - 128;
  }
  const first = block[0] ?? 0;
  for (let i = 1; i < 64 && flat; i++) flat = block[i] === first;
  if (flat) {
    // A uniform block has only a DC term: F(0,0) = 8 * value. Most of a synthetic frame is flat.
    coefs.fill(0);
    coefs[0] = Math.round((8 * first) / (qt[0] ?? 1));
    return;
  }
  for (let y = 0; y < 8; y++)
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let x = 0; x < 8; x++) s += (COS[u * 8 + x] ?? 0) * (block[y * 8 + x] ?? 0);
      tmp[y * 8 + u] = s;
    }
  for (let k = 0; k < 64; k++) {
    const n = ZIGZAG[k] ?? 0;
    const v = n >> 3;
    const u = n & 7;
    let s = 0;
    for (let y = 0; y < 8; y++) s += (COS[v * 8 + y] ?? 0) * (tmp[y * 8 + u] ?? 0);
    coefs[k] = Math.round(s / (qt[k] ?? 1));
  }
}

function category(v: number): number {
  let a = v < 0 ? -v : v;
  let n = 0;
  while (a > 0) {
    n++;
    a >>= 1;
  }
  return n;
}

function emitBlock(w: BitWriter, prevDc: number, dc: HuffTable, ac: HuffTable): number {
  const diff = (coefs[0] ?? 0) - prevDc;
  const cat = category(diff);
  w.write(dc.code[cat] ?? 0, dc.size[cat] ?? 0);
  if (cat > 0) w.write(diff < 0 ? diff + (1 << cat) - 1 : diff, cat);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = coefs[k] ?? 0;
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      w.write(ac.code[0xf0] ?? 0, ac.size[0xf0] ?? 0);
      run -= 16;
    }
    const c = category(v);
    const sym = (run << 4) | c;
    w.write(ac.code[sym] ?? 0, ac.size[sym] ?? 0);
    w.write(v < 0 ? v + (1 << c) - 1 : v, c);
    run = 0;
  }
  if (run > 0) w.write(ac.code[0] ?? 0, ac.size[0] ?? 0);
  return coefs[0] ?? 0;
}

function segment(marker: number, payload: number[] | Buffer): Buffer {
  const head = Buffer.from([0xff, marker, ((payload.length + 2) >> 8) & 0xff, (payload.length + 2) & 0xff]);
  return Buffer.concat([head, Buffer.from(payload)]);
}

function dht(tableClass: number, id: number, spec: { bits: number[]; vals: number[] }): number[] {
  return [(tableClass << 4) | id, ...spec.bits, ...spec.vals];
}

/** Encodes a 4:2:0 frame as a baseline JFIF JPEG at the given IJG quality (1..100). */
export function encodeJpeg(frame: PlanarFrame, quality: number): EncodedJpeg {
  const { width, height } = frame;
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const qy = quantTable(LUMA_Q, quality);
  const qc = quantTable(CHROMA_Q, quality);
  const w = new BitWriter();
  let dcY = 0;
  let dcCb = 0;
  let dcCr = 0;
  for (let my = 0; my < height; my += 16) {
    for (let mx = 0; mx < width; mx += 16) {
      for (const [ox, oy] of [
        [0, 0],
        [8, 0],
        [0, 8],
        [8, 8],
      ] as const) {
        transform(frame.y, width, height, Math.min(mx + ox, width - 1), Math.min(my + oy, height - 1), qy);
        dcY = emitBlock(w, dcY, HT.dcY, HT.acY);
      }
      transform(frame.cb, cw, ch, mx / 2, my / 2, qc);
      dcCb = emitBlock(w, dcCb, HT.dcC, HT.acC);
      transform(frame.cr, cw, ch, mx / 2, my / 2, qc);
      dcCr = emitBlock(w, dcCr, HT.dcC, HT.acC);
    }
  }
  const scan = w.finish();
  const jfif = [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const sof = [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  const sos = [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0];
  const jpeg = Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, jfif),
    segment(0xdb, [0, ...qy, 1, ...qc]),
    segment(0xc0, sof),
    segment(0xc4, [...dht(0, 0, DC_LUMA), ...dht(1, 0, AC_LUMA), ...dht(0, 1, DC_CHROMA), ...dht(1, 1, AC_CHROMA)]),
    segment(0xda, sos),
    scan,
    Buffer.from([0xff, 0xd9]),
  ]);
  return { jpeg, scan, qtables: Buffer.concat([Buffer.from(qy), Buffer.from(qc)]), width, height };
}

/** Full-range BT.601 (JFIF) conversion of one RGB colour. */
export function rgbToYcc(r: number, g: number, b: number): [number, number, number] {
  const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  return [clamp(0.299 * r + 0.587 * g + 0.114 * b), clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b), clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)];
}
