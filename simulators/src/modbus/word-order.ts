/**
 * Float32 to registers with the devices' own Buffer-based code, independent of the drivers'
 * codec, so a codec bug cannot hide behind a matching bug here. Word orders are named by where
 * the most significant byte A lands: ABCD big-endian, CDAB word-swapped, BADC byte-swapped, DCBA little-endian.
 */
export type WordOrder = 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';

export function float32Registers(value: number, order: WordOrder = 'ABCD'): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(value, 0);
  const [A, B, C, D] = [b[0] ?? 0, b[1] ?? 0, b[2] ?? 0, b[3] ?? 0];
  const word = (hi: number, lo: number) => (hi << 8) | lo;
  switch (order) {
    case 'ABCD':
      return [word(A, B), word(C, D)];
    case 'CDAB':
      return [word(C, D), word(A, B)];
    case 'BADC':
      return [word(B, A), word(D, C)];
    case 'DCBA':
      return [word(D, C), word(B, A)];
  }
}

/** A signed 16-bit value as a register (two's complement), clamped to the int16 range. */
export function int16Register(value: number): number {
  const v = Math.max(-32768, Math.min(32767, Math.round(value)));
  return v & 0xffff;
}

/** An unsigned 16-bit register, clamped to 0..65535. */
export function uint16Register(value: number): number {
  return Math.max(0, Math.min(65535, Math.round(value)));
}

export function registerToInt16(reg: number): number {
  return reg & 0x8000 ? reg - 0x10000 : reg;
}
