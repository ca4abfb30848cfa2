import type { PointSpec, WordOrder } from '@cityedge/contract';
import { CodecError } from './codec-error.js';
import { ModbusError } from './modbus-transport.js';
import { isBitTable, registerCount, type ReadBlock } from './read-plan.js';
import { isValidValue, scaleValue, unscaleValue } from './value-scaling.js';

export type PointValue = number | boolean | string;

const INT_RANGES = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
} as const;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Puts the registers of a multi-register value into big-endian order (ABCD), or back: CDAB and
 * DCBA reverse the order of the words, BADC and DCBA swap the two bytes of each word. The
 * operation is its own inverse, so it serves for both decoding and encoding.
 */
export function reorderWords(words: readonly number[], order: WordOrder = 'ABCD'): number[] {
  const reversed = order === 'CDAB' || order === 'DCBA' ? [...words].reverse() : [...words];
  if (order !== 'BADC' && order !== 'DCBA') return reversed;
  return reversed.map((w) => ((w & 0xff) << 8) | ((w >> 8) & 0xff));
}

function wordsToView(words: readonly number[]): DataView {
  const view = new DataView(new ArrayBuffer(words.length * 2));
  words.forEach((w, i) => view.setUint16(i * 2, w, false));
  return view;
}

function viewToWords(view: DataView): number[] {
  const words: number[] = [];
  for (let i = 0; i < view.byteLength; i += 2) words.push(view.getUint16(i, false));
  return words;
}

/**
 * Raw value of a register point from its registers as received. wordOrder applies to values of
 * two or more registers (32/64-bit); 16-bit values and strings are always high byte first.
 * A float that is NaN or Infinity is returned as such: check with isValidValue.
 */
export function decodeRegisters(point: PointSpec, words: readonly number[]): PointValue {
  const first = words[0] ?? 0;
  switch (point.type) {
    case 'bool':
      return point.bit === undefined ? first !== 0 : ((first >> point.bit) & 1) === 1;
    case 'uint16':
      return first;
    case 'int16':
      return first >= 0x8000 ? first - 0x10000 : first;
    case 'int32':
      return wordsToView(reorderWords(words, point.wordOrder)).getInt32(0, false);
    case 'uint32':
      return wordsToView(reorderWords(words, point.wordOrder)).getUint32(0, false);
    case 'float32':
      return wordsToView(reorderWords(words, point.wordOrder)).getFloat32(0, false);
    case 'float64':
      return wordsToView(reorderWords(words, point.wordOrder)).getFloat64(0, false);
    case 'string': {
      const bytes = Buffer.alloc(words.length * 2);
      words.forEach((w, i) => bytes.writeUInt16BE(w, i * 2));
      return bytes.toString('latin1').replace(/[\0 ]+$/, '');
    }
  }
}

/**
 * Raw values of every point of a block from the registers (or bits) read for it: numbers as
 * read (unscaled), booleans, strings. Throws EDGE_MODBUS_FRAME when the data does not fit the block.
 */
export function decodeBlock(block: ReadBlock, data: readonly number[] | readonly boolean[]): Map<string, PointValue> {
  const bits = isBitTable(block.table);
  const what = `${block.table} ${block.address}+${block.count}`;
  if (data.length < block.count) {
    throw new ModbusError('EDGE_MODBUS_FRAME', `expected ${block.count} ${bits ? 'bits' : 'registers'} for ${what}, got ${data.length}`);
  }
  const out = new Map<string, PointValue>();
  for (const point of block.points) {
    const at = point.address - block.address;
    const span = registerCount(point);
    if (at < 0 || at + span > block.count) {
      throw new CodecError('EDGE_POINT_INVALID', `point "${point.name}" is not inside the block ${what}`);
    }
    if (bits) {
      const v = data[at];
      if (typeof v !== 'boolean') throw new ModbusError('EDGE_MODBUS_FRAME', `expected bits for ${what}, got ${typeof v}`);
      out.set(point.name, v);
      continue;
    }
    const words: number[] = [];
    for (let i = at; i < at + span; i++) {
      const w = data[i];
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 0xffff) {
        throw new ModbusError('EDGE_MODBUS_FRAME', `expected 16-bit registers for ${what}, got ${String(w)}`);
      }
      words.push(w);
    }
    out.set(point.name, decodeRegisters(point, words));
  }
  return out;
}

/** What a block read returned, for decodePoints. */
export interface BlockData {
  block: ReadBlock;
  data: readonly number[] | readonly boolean[];
}

/**
 * Engineering values of a device's points from the blocks read: decodes every block, then scales
 * each number, taking decimals for a `decimalsFrom` point from the raw value of the named point
 * (NaN when that point was not read). Points with no data are left out.
 */
export function decodePoints(points: readonly PointSpec[], results: readonly BlockData[]): Map<string, PointValue> {
  const raw = new Map<string, PointValue>();
  for (const { block, data } of results) {
    for (const [name, value] of decodeBlock(block, data)) raw.set(name, value);
  }
  const out = new Map<string, PointValue>();
  for (const point of points) {
    const value = raw.get(point.name);
    if (value === undefined) continue;
    if (typeof value !== 'number') {
      out.set(point.name, value);
      continue;
    }
    const d = point.decimalsFrom === undefined ? undefined : raw.get(point.decimalsFrom);
    out.set(point.name, scaleValue(point, value, typeof d === 'number' ? d : undefined));
  }
  return out;
}

/**
 * What to write for an engineering value: a boolean for a coil (FC05), registers for a holding
 * point (one for FC06, more for FC16), in the point's word order. Applies the inverse of the
 * point's scaling (`decimals` is needed for a decimalsFrom point) and checks the result fits the
 * type. Throws a CodecError naming the point otherwise. Whether the point may be written at all
 * (`writable`) is the caller's decision.
 */
export function encodeValue(point: PointSpec, value: PointValue, decimals?: number): number[] | boolean {
  const name = `point "${point.name}"`;
  if (point.table === 'coil') {
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 1) return value === 1;
    throw new CodecError('EDGE_VALUE_TYPE', `${name} is a coil: expected true or false, got ${JSON.stringify(value)}`);
  }
  if (point.table !== 'holding') {
    throw new CodecError('EDGE_POINT_INVALID', `${name} is in the ${point.table} table, which cannot be written`);
  }
  if (point.type === 'bool') {
    throw new CodecError('EDGE_POINT_INVALID', `${name} is bit ${point.bit ?? 0} of register ${point.address}; write the whole register instead`);
  }
  if (point.type === 'string') {
    if (typeof value !== 'string') throw new CodecError('EDGE_VALUE_TYPE', `${name} expects a string, got ${typeof value}`);
    return encodeString(point, value);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CodecError('EDGE_VALUE_TYPE', `${name} expects a finite number, got ${JSON.stringify(value)}`);
  }
  if (!inRange(point, value)) {
    throw new CodecError('EDGE_VALUE_OUT_OF_RANGE', `${name}: ${value} is outside its valid range ${point.range?.min ?? ''}..${point.range?.max ?? ''}${point.unit ? ` ${point.unit}` : ''}`);
  }
  const raw = unscaleValue(point, value, decimals);
  if (point.type === 'float32' || point.type === 'float64') {
    const view = new DataView(new ArrayBuffer(point.type === 'float32' ? 4 : 8));
    if (point.type === 'float32') {
      if (Math.abs(raw) > FLOAT32_MAX) throw outOfRange(point, value, raw, `-${FLOAT32_MAX}..${FLOAT32_MAX}`);
      view.setFloat32(0, raw, false);
    } else {
      view.setFloat64(0, raw, false);
    }
    return reorderWords(viewToWords(view), point.wordOrder);
  }
  const int = Math.round(raw);
  const [min, max] = INT_RANGES[point.type];
  if (int < min || int > max) throw outOfRange(point, value, int, `${min}..${max}`);
  if (point.type === 'int16' || point.type === 'uint16') return [int & 0xffff];
  const u = int >>> 0;
  return reorderWords([(u >>> 16) & 0xffff, u & 0xffff], point.wordOrder);
}

function outOfRange(point: PointSpec, value: number, raw: number, range: string): CodecError {
  const scaled = raw !== value ? ` (raw ${raw})` : '';
  return new CodecError('EDGE_VALUE_OUT_OF_RANGE', `point "${point.name}": ${value}${scaled} does not fit a ${point.type} (${range})`);
}

function encodeString(point: PointSpec, value: string): number[] {
  const length = point.length ?? 1;
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new CodecError('EDGE_VALUE_TYPE', `point "${point.name}" takes printable ASCII only`);
  }
  if (value.length > length * 2) {
    throw new CodecError('EDGE_VALUE_OUT_OF_RANGE', `point "${point.name}" holds at most ${length * 2} characters, got ${value.length}`);
  }
  const bytes = Buffer.alloc(length * 2); // NUL padded
  bytes.write(value, 'latin1');
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) words.push(bytes.readUInt16BE(i));
  return words;
}

/** Reading error codes of a decoded value that is not a measurement. */
export type ValueErrorCode = 'EDGE_VALUE_INVALID' | 'EDGE_VALUE_RANGE';

function inRange(point: PointSpec, value: number): boolean {
  const r = point.range;
  return r === undefined || ((r.min === undefined || value >= r.min) && (r.max === undefined || value <= r.max));
}

/**
 * Below this magnitude a non-zero float is no measurement in any unit a profile uses (m, ppb,
 * ug/m3, C, V, A, kWh...): it is what a float read in the wrong word order usually looks like
 * (2.5 m written ABCD and read CDAB is 2.3e-41), and a range check alone would let it through.
 */
export const FLOAT_MAGNITUDE_FLOOR = 1e-6;

/**
 * Whether an engineering value (decoded and scaled) may be published as good: undefined when
 * it may, EDGE_VALUE_INVALID for NaN or infinity, EDGE_VALUE_RANGE for a number outside the
 * point's valid range, or, for a float point with a range, a non-zero value below
 * FLOAT_MAGNITUDE_FLOOR.
 */
export function valueError(point: PointSpec, value: unknown): ValueErrorCode | undefined {
  if (!isValidValue(value)) return 'EDGE_VALUE_INVALID';
  if (typeof value !== 'number' || point.range === undefined) return undefined;
  if (!inRange(point, value)) return 'EDGE_VALUE_RANGE';
  const float = point.type === 'float32' || point.type === 'float64';
  if (float && value !== 0 && Math.abs(value) < FLOAT_MAGNITUDE_FLOOR) return 'EDGE_VALUE_RANGE';
  return undefined;
}
