import { PointSpec, type WordOrder } from '@cityedge/contract';
import { describe, expect, it } from 'vitest';
import { CodecError } from './codec-error.js';
import { ModbusError } from './modbus-transport.js';
import { decodeBlock, decodePoints, encodeValue, reorderWords, valueError } from './point-codec.js';
import type { ReadBlock } from './read-plan.js';
import { isValidValue, scaleValue } from './value-scaling.js';

const pt = (p: Record<string, unknown>): PointSpec => PointSpec.parse({ name: 'p', table: 'holding', address: 0, ...p });
const block = (points: PointSpec[], address = 0, count?: number): ReadBlock => ({
  table: points[0]?.table ?? 'holding',
  address,
  count: count ?? Math.max(...points.map((p) => p.address + (p.type === 'float64' ? 4 : p.type.endsWith('32') ? 2 : (p.length ?? 1)))) - address,
  points,
});
const decodeOne = (p: PointSpec, data: number[] | boolean[]) => decodeBlock(block([p], p.address, data.length), data).get(p.name);

describe('decodeBlock', () => {
  const float15: Record<WordOrder, number[]> = {
    ABCD: [0x3fc0, 0x0000],
    CDAB: [0x0000, 0x3fc0],
    BADC: [0xc03f, 0x0000],
    DCBA: [0x0000, 0xc03f],
  };
  for (const [order, words] of Object.entries(float15) as [WordOrder, number[]][]) {
    it(`float32 1.5 (0x3FC00000) in ${order}`, () => {
      expect(decodeOne(pt({ type: 'float32', wordOrder: order }), words)).toBe(1.5);
      expect(encodeValue(pt({ type: 'float32', wordOrder: order }), 1.5)).toEqual(words);
    });
  }

  it('float32 defaults to ABCD', () => {
    expect(decodeOne(pt({ type: 'float32' }), [0x3fc0, 0x0000])).toBe(1.5);
  });

  it('float64 in every word order (-2.5 = C004 0000 0000 0000, 1/3 = 3FD5 5555 5555 5555)', () => {
    const third = [0x3fd5, 0x5555, 0x5555, 0x5555];
    const cases: [WordOrder, number[], number][] = [
      ['ABCD', [0xc004, 0, 0, 0], -2.5],
      ['CDAB', [0, 0, 0, 0xc004], -2.5],
      ['BADC', [0x04c0, 0, 0, 0], -2.5],
      ['DCBA', [0, 0, 0, 0x04c0], -2.5],
      ['ABCD', third, 1 / 3],
      ['CDAB', [...third].reverse(), 1 / 3],
      ['DCBA', [0x5555, 0x5555, 0x5555, 0xd53f], 1 / 3],
    ];
    // a value with distinct bytes pins down each order: 0x0102030405060708
    const distinct = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).readDoubleBE(0);
    cases.push(['BADC', [0x0201, 0x0403, 0x0605, 0x0807], distinct]);
    cases.push(['CDAB', [0x0708, 0x0506, 0x0304, 0x0102], distinct]);
    cases.push(['DCBA', [0x0807, 0x0605, 0x0403, 0x0201], distinct]);
    for (const [order, words, value] of cases) {
      const p = pt({ type: 'float64', wordOrder: order });
      expect(decodeOne(p, words), order).toBe(value);
      expect(encodeValue(p, value), order).toEqual(words);
    }
  });

  it('int32 negative and uint32 in word orders', () => {
    // -2 = 0xFFFFFFFE; 305419896 = 0x12345678
    expect(decodeOne(pt({ type: 'int32' }), [0xffff, 0xfffe])).toBe(-2);
    expect(decodeOne(pt({ type: 'int32', wordOrder: 'CDAB' }), [0xfffe, 0xffff])).toBe(-2);
    expect(decodeOne(pt({ type: 'int32' }), [0x8000, 0x0000])).toBe(-2147483648);
    expect(decodeOne(pt({ type: 'uint32' }), [0xffff, 0xfffe])).toBe(4294967294);
    expect(decodeOne(pt({ type: 'uint32' }), [0x1234, 0x5678])).toBe(0x12345678);
    expect(decodeOne(pt({ type: 'uint32', wordOrder: 'CDAB' }), [0x5678, 0x1234])).toBe(0x12345678);
    expect(decodeOne(pt({ type: 'uint32', wordOrder: 'BADC' }), [0x3412, 0x7856])).toBe(0x12345678);
    expect(decodeOne(pt({ type: 'uint32', wordOrder: 'DCBA' }), [0x7856, 0x3412])).toBe(0x12345678);
  });

  it('int16 and uint16', () => {
    expect(decodeOne(pt({ type: 'int16' }), [0xfb2e])).toBe(-1234);
    expect(decodeOne(pt({ type: 'int16' }), [0x7fff])).toBe(32767);
    expect(decodeOne(pt({ type: 'uint16' }), [0xfb2e])).toBe(0xfb2e);
  });

  it('bits of a register and of a bit table', () => {
    const status = pt({ name: 'status', address: 100, type: 'uint16' });
    const b0 = pt({ name: 'b0', address: 100, type: 'bool', bit: 0 });
    const b2 = pt({ name: 'b2', address: 100, type: 'bool', bit: 2 });
    const b15 = pt({ name: 'b15', address: 100, type: 'bool', bit: 15 });
    const out = decodeBlock(block([status, b0, b2, b15], 100, 1), [0x8004]);
    expect(Object.fromEntries(out)).toEqual({ status: 0x8004, b0: false, b2: true, b15: true });

    const c0 = pt({ name: 'c0', table: 'coil', address: 10, type: 'bool' });
    const c3 = pt({ name: 'c3', table: 'coil', address: 13, type: 'bool' });
    const coils = decodeBlock({ table: 'coil', address: 10, count: 4, points: [c0, c3] }, [true, false, false, false]);
    expect(Object.fromEntries(coils)).toEqual({ c0: true, c3: false });
  });

  it('strings: two ASCII characters per register, high byte first, trailing NULs and spaces trimmed', () => {
    const s = pt({ type: 'string', length: 4 });
    expect(decodeOne(s, [0x5345, 0x4e53, 0x3120, 0x0000])).toBe('SENS1');
    expect(decodeOne(s, [0x4142, 0x2043, 0x2020, 0x2020])).toBe('AB C');
    expect(encodeValue(s, 'SENS1')).toEqual([0x5345, 0x4e53, 0x3100, 0x0000]);
    expect(() => encodeValue(s, 'TOO LONG!')).toThrow(/at most 8 characters/);
  });

  it('the SHT20 vector: registers 0x0131, 0x0222 -> 30.5 C and 54.6 %', () => {
    const temperature = pt({ name: 'temperature', table: 'input', address: 1, type: 'int16', scale: 0.1 });
    const humidity = pt({ name: 'humidity', table: 'input', address: 2, type: 'int16', scale: 0.1 });
    const b: ReadBlock = { table: 'input', address: 1, count: 2, points: [temperature, humidity] };
    const values = decodePoints([temperature, humidity], [{ block: b, data: [0x0131, 0x0222] }]);
    expect(Object.fromEntries(values)).toEqual({ temperature: 30.5, humidity: 54.6 });
  });

  it('a negative temperature scales without float noise', () => {
    const t = pt({ type: 'int16', scale: 0.1 });
    expect(scaleValue(t, decodeOne(t, [0xff9c]) as number)).toBe(-10);
    expect(scaleValue(t, -231)).toBe(-23.1);
  });

  it('NaN and Infinity float32 are decoded as such and flagged invalid', () => {
    const f = pt({ type: 'float32' });
    const nan = decodeOne(f, [0x7fc0, 0x0000]);
    const inf = decodeOne(f, [0x7f80, 0x0000]);
    expect(nan).toBeNaN();
    expect(inf).toBe(Number.POSITIVE_INFINITY);
    expect(isValidValue(scaleValue(f, nan as number))).toBe(false);
    expect(isValidValue(scaleValue(pt({ type: 'float32', scale: 2 }), inf as number))).toBe(false);
    expect(isValidValue(1.5)).toBe(true);
    expect(isValidValue(false)).toBe(true);
    expect(isValidValue('x')).toBe(true);
  });

  it('rejects data that does not fit the block with EDGE_MODBUS_FRAME', () => {
    const p = pt({ type: 'float32' });
    expect(() => decodeBlock(block([p]), [0x3fc0])).toThrow(ModbusError);
    expect(() => decodeBlock(block([p]), [true, false])).toThrow(/16-bit registers/);
    const c = pt({ table: 'coil', type: 'bool' });
    expect(() => decodeBlock({ table: 'coil', address: 0, count: 1, points: [c] }, [1])).toThrow(/expected bits/);
  });
});

describe('scaleValue', () => {
  it('applies scale and offset without float noise', () => {
    expect(scaleValue(pt({ type: 'int16', scale: 0.1 }), 231)).toBe(23.1);
    expect(scaleValue(pt({ type: 'uint16', scale: 0.001 }), 1234)).toBe(1.234);
    expect(scaleValue(pt({ type: 'int16', scale: 0.1, offset: -40 }), 650)).toBe(25);
    expect(scaleValue(pt({ type: 'int16', scale: 0.01, offset: 0.05 }), 3)).toBe(0.08);
    expect(scaleValue(pt({ type: 'uint16' }), 7)).toBe(7);
  });

  it('pressure transmitter: int16 1234 with decimals 2 -> 12.34; decimals clamped to 0..6', () => {
    const level = pt({ name: 'level', type: 'int16', decimalsFrom: 'decimals' });
    expect(scaleValue(level, 1234, 2)).toBe(12.34);
    expect(scaleValue(level, -1234, 3)).toBe(-1.234);
    expect(scaleValue(level, 1234, 0)).toBe(1234);
    expect(scaleValue(level, 1234, 9)).toBe(0.001234);
    expect(scaleValue(level, 1234, -1)).toBe(1234);
    expect(scaleValue(level, 1234)).toBeNaN();
  });

  it('reduces float32 to the shortest decimal that reads back the same', () => {
    const f = pt({ type: 'float32' });
    expect(scaleValue(f, Math.fround(23.1))).toBe(23.1);
    expect(scaleValue(f, Math.fround(230.4))).toBe(230.4);
    expect(scaleValue(f, 16777216)).toBe(16777216);
    expect(scaleValue(pt({ type: 'float32', scale: 1000 }), Math.fround(0.1234))).toBe(123.4);
    expect(scaleValue(pt({ type: 'float64' }), 0.1 + 0.2)).toBe(0.1 + 0.2);
  });
});

describe('decodePoints with decimalsFrom', () => {
  it('takes decimals from the raw value of the other point', () => {
    const decimals = pt({ name: 'decimals', address: 3, type: 'uint16' });
    const level = pt({ name: 'level', address: 4, type: 'int16', decimalsFrom: 'decimals' });
    const b: ReadBlock = { table: 'holding', address: 3, count: 2, points: [decimals, level] };
    expect(Object.fromEntries(decodePoints([decimals, level], [{ block: b, data: [2, 1234] }]))).toEqual({ decimals: 2, level: 12.34 });
  });

  it('gives NaN when the decimals point was not read, and leaves out points without data', () => {
    const level = pt({ name: 'level', address: 4, type: 'int16', decimalsFrom: 'decimals' });
    const other = pt({ name: 'other', address: 9, type: 'int16' });
    const b: ReadBlock = { table: 'holding', address: 4, count: 1, points: [level] };
    const out = decodePoints([level, other], [{ block: b, data: [1234] }]);
    expect(out.get('level')).toBeNaN();
    expect(out.has('other')).toBe(false);
  });
});

describe('encodeValue', () => {
  it('DALI arc power 55 % -> one register for FC06', () => {
    const arc = pt({ name: 'arc_power', address: 15, type: 'uint16', unit: '%', writable: true });
    expect(encodeValue(arc, 55)).toEqual([55]);
  });

  it('inverts scale, offset and decimals', () => {
    expect(encodeValue(pt({ type: 'int16', scale: 0.1 }), 23.1)).toEqual([231]);
    expect(encodeValue(pt({ type: 'int16', scale: 0.1 }), -23.1)).toEqual([0x10000 - 231]);
    expect(encodeValue(pt({ type: 'int16', scale: 0.1, offset: -40 }), 25)).toEqual([650]);
    const zero = pt({ name: 'zero_offset', type: 'int16', decimalsFrom: 'decimals' });
    expect(encodeValue(zero, 12.34, 2)).toEqual([1234]);
    expect(() => encodeValue(zero, 12.34)).toThrow(/takes its decimals from "decimals"/);
  });

  it('encodes 32-bit integers in the word order', () => {
    expect(encodeValue(pt({ type: 'int32' }), -2)).toEqual([0xffff, 0xfffe]);
    expect(encodeValue(pt({ type: 'uint32', wordOrder: 'CDAB' }), 0x12345678)).toEqual([0x5678, 0x1234]);
    expect(encodeValue(pt({ type: 'uint32', wordOrder: 'BADC' }), 0x12345678)).toEqual([0x3412, 0x7856]);
  });

  it('range-checks against the type, naming the point', () => {
    const arc = pt({ name: 'arc_power', type: 'uint16' });
    expect(() => encodeValue(arc, 70000)).toThrow(/point "arc_power": 70000 does not fit a uint16 \(0\.\.65535\)/);
    expect(() => encodeValue(arc, -1)).toThrow(CodecError);
    expect(() => encodeValue(pt({ name: 'level', type: 'int16', scale: 0.1 }), 5000)).toThrow(/raw 50000/);
    expect(() => encodeValue(pt({ type: 'float32' }), 1e39)).toThrow(/does not fit a float32/);
    expect(() => encodeValue(pt({ type: 'int16' }), Number.NaN)).toThrow(/finite number/);
    expect(() => encodeValue(pt({ type: 'int16' }), true)).toThrow(/finite number/);
  });

  it("refuses a value outside the point's valid range", () => {
    const arc = pt({ name: 'arc_power', type: 'uint16', unit: '%', range: { min: 0, max: 100 } });
    expect(encodeValue(arc, 100)).toEqual([100]);
    expect(() => encodeValue(arc, 150)).toThrow(/point "arc_power": 150 is outside its valid range 0\.\.100 %/);
  });

  it('coils take booleans; bits of registers and read-only tables are refused', () => {
    const coil = pt({ table: 'coil', type: 'bool' });
    expect(encodeValue(coil, true)).toBe(true);
    expect(encodeValue(coil, 0)).toBe(false);
    expect(() => encodeValue(coil, 'on')).toThrow(/coil/);
    expect(() => encodeValue(pt({ type: 'bool', bit: 2 }), true)).toThrow(/bit 2 of register 0/);
    expect(() => encodeValue(pt({ table: 'input', type: 'int16' }), 1)).toThrow(/input table/);
  });

  it('round-trips every type through decode', () => {
    const cases: [PointSpec, number][] = [
      [pt({ type: 'int16' }), -32768],
      [pt({ type: 'uint16' }), 65535],
      [pt({ type: 'int32', wordOrder: 'DCBA' }), -123456789],
      [pt({ type: 'uint32', wordOrder: 'BADC' }), 4000000000],
      [pt({ type: 'float32', wordOrder: 'CDAB' }), 230.4],
      [pt({ type: 'float64', wordOrder: 'BADC' }), Math.PI],
      [pt({ type: 'int16', scale: 0.01 }), -12.34],
    ];
    for (const [p, v] of cases) {
      const words = encodeValue(p, v) as number[];
      expect(scaleValue(p, decodeOne(p, words) as number), p.type).toBe(v);
    }
  });
});

describe('reorderWords', () => {
  it('is its own inverse', () => {
    const words = [0x0102, 0x0304, 0x0506, 0x0708];
    for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
      expect(reorderWords(reorderWords(words, order), order)).toEqual(words);
    }
  });
});

describe('valueError', () => {
  const pv = pt({ name: 'pv', type: 'float32', unit: 'm', range: { min: 0, max: 30 } });

  it('flags a float read in the wrong word order as outside the range, never as good', () => {
    const cdab = pt({ name: 'pv', type: 'float32', wordOrder: 'CDAB', unit: 'm', range: { min: 0, max: 30 } });
    // The field case: 2.5 m (0x40200000) written ABCD, read CDAB: 0x00004020 = 2.3e-41, inside 0..30.
    const field = decodeOne(cdab, encodeValue(pv, 2.5) as number[]) as number;
    expect(field).toBeCloseTo(2.3e-41, 42);
    expect(valueError(cdab, field)).toBe('EDGE_VALUE_RANGE');
    // 2.314 m (0x40141893) read CDAB: 0x18934014 = 3.8e-24, also inside 0..30.
    expect(valueError(cdab, decodeOne(cdab, encodeValue(pv, 2.314) as number[]))).toBe('EDGE_VALUE_RANGE');
    // 1234.5 read CDAB is huge: outside the range.
    expect(valueError(cdab, decodeOne(cdab, encodeValue(pt({ type: 'float32' }), 1234.5) as number[]))).toBe('EDGE_VALUE_RANGE');
    expect(valueError(pv, decodeOne(pv, encodeValue(pv, 2.314) as number[]))).toBeUndefined();
  });

  it('takes the bounds as inclusive, one-sided ranges too, and leaves points without a range alone', () => {
    expect(valueError(pv, 0)).toBeUndefined();
    expect(valueError(pv, 30)).toBeUndefined();
    expect(valueError(pv, 30.001)).toBe('EDGE_VALUE_RANGE');
    expect(valueError(pv, -0.001)).toBe('EDGE_VALUE_RANGE');
    expect(valueError(pt({ type: 'float32', range: { min: 0 } }), 1e30)).toBeUndefined();
    expect(valueError(pv, 0)).toBeUndefined();
    expect(valueError(pv, 0.000_01)).toBeUndefined();
    expect(valueError(pt({ type: 'int16', range: { min: -5, max: 5 } }), 0)).toBeUndefined();
    expect(valueError(pt({ type: 'float32' }), -1e30)).toBeUndefined();
    expect(valueError(pv, Number.NaN)).toBe('EDGE_VALUE_INVALID');
    expect(valueError(pt({ type: 'bool', bit: 0 }), true)).toBeUndefined();
  });
});
