import type { PointSpec, RegisterTable } from '@cityedge/contract';
import { CodecError } from './codec-error.js';

/** One read request: `count` registers (or bits) from `address` of `table`, covering `points`. */
export interface ReadBlock {
  table: RegisterTable;
  address: number;
  count: number;
  /** The points decoded from this block, in address order. */
  points: PointSpec[];
}

export interface PlanOptions {
  /** Largest run of unused registers bridged to merge two points into one request. */
  maxGapRegisters: number;
}

/** Modbus limits of one read request: FC03/FC04 carry 125 registers, FC01/FC02 2000 bits. */
export const MAX_READ_REGISTERS = 125;
export const MAX_READ_BITS = 2000;
/** A register's worth of bits: the gap allowed in a bit table is maxGapRegisters times this. */
const BITS_PER_REGISTER = 16;

const TABLE_ORDER: readonly RegisterTable[] = ['coil', 'discrete', 'input', 'holding'];

export function isBitTable(table: RegisterTable): table is 'coil' | 'discrete' {
  return table === 'coil' || table === 'discrete';
}

/**
 * Registers a point spans: 1 for int16/uint16 and a bool in a register, 2 for 32-bit values,
 * 4 for float64, `length` for a string. A coil or discrete input point spans one bit.
 */
export function registerCount(point: PointSpec): number {
  if (isBitTable(point.table)) return 1;
  switch (point.type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
    case 'string':
      return point.length ?? 1;
  }
}

/**
 * Groups points into as few read requests as the Modbus limits allow. Per table, points in
 * address order join the current block while the unused registers (bits) between them are at
 * most `maxGapRegisters` (`maxGapRegisters * 16` in a bit table) and the block stays within
 * 125 registers (2000 bits). Points that overlap (a status word and its bits) share registers.
 * Blocks come out in table order coil, discrete, input, holding, then by address.
 */
export function planReads(points: readonly PointSpec[], options: PlanOptions): ReadBlock[] {
  const maxGap = Math.max(0, Math.floor(options.maxGapRegisters));
  const blocks: ReadBlock[] = [];
  for (const table of TABLE_ORDER) {
    const bits = isBitTable(table);
    const limit = bits ? MAX_READ_BITS : MAX_READ_REGISTERS;
    const gapLimit = bits ? maxGap * BITS_PER_REGISTER : maxGap;
    const inTable = points
      .filter((p) => p.table === table)
      .sort((a, b) => a.address - b.address || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let current: ReadBlock | undefined;
    let end = 0; // exclusive end address of the current block
    for (const p of inTable) {
      const span = registerCount(p);
      const pEnd = p.address + span;
      if (pEnd > 65536) {
        throw new CodecError('EDGE_POINT_INVALID', `point "${p.name}" spans ${span} ${bits ? 'bits' : 'registers'} from address ${p.address}, past 65535`);
      }
      if (span > limit) {
        throw new CodecError('EDGE_POINT_INVALID', `point "${p.name}" spans ${span} registers, more than one request can read (${limit})`);
      }
      if (current && p.address - end <= gapLimit && Math.max(end, pEnd) - current.address <= limit) {
        current.points.push(p);
        end = Math.max(end, pEnd);
        current.count = end - current.address;
        continue;
      }
      current = { table, address: p.address, count: span, points: [p] };
      end = pEnd;
      blocks.push(current);
    }
  }
  return blocks;
}
