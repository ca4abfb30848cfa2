import { builtinProfiles, PointSpec } from '@cityedge/contract';
import { describe, expect, it } from 'vitest';
import { CodecError } from './codec-error.js';
import { planReads, registerCount, type ReadBlock } from './read-plan.js';

const pt = (p: Record<string, unknown>): PointSpec => PointSpec.parse({ table: 'holding', type: 'uint16', ...p });
const summary = (blocks: ReadBlock[]) => blocks.map((b) => ({ table: b.table, address: b.address, count: b.count, points: b.points.map((p) => p.name) }));
const profilePoints = (id: string): PointSpec[] => {
  const profile = builtinProfiles.find((p) => p.id === id);
  if (!profile) throw new Error(`no built-in profile ${id}`);
  return profile.points;
};

describe('registerCount', () => {
  it('counts registers by type and one bit for coils and discrete inputs', () => {
    expect(registerCount(pt({ name: 'a', address: 0, type: 'bool', bit: 3 }))).toBe(1);
    expect(registerCount(pt({ name: 'a', address: 0, type: 'int16' }))).toBe(1);
    expect(registerCount(pt({ name: 'a', address: 0, type: 'uint32' }))).toBe(2);
    expect(registerCount(pt({ name: 'a', address: 0, type: 'float32' }))).toBe(2);
    expect(registerCount(pt({ name: 'a', address: 0, type: 'float64' }))).toBe(4);
    expect(registerCount(pt({ name: 'a', address: 0, type: 'string', length: 10 }))).toBe(10);
    expect(registerCount(pt({ name: 'a', address: 0, table: 'coil', type: 'bool' }))).toBe(1);
  });
});

describe('planReads', () => {
  it('fills gaps up to maxGapRegisters and splits beyond', () => {
    const points = [pt({ name: 'a', address: 0 }), pt({ name: 'b', address: 4 }), pt({ name: 'c', address: 20, type: 'float32' })];
    expect(summary(planReads(points, { maxGapRegisters: 3 }))).toEqual([
      { table: 'holding', address: 0, count: 5, points: ['a', 'b'] },
      { table: 'holding', address: 20, count: 2, points: ['c'] },
    ]);
    expect(summary(planReads(points, { maxGapRegisters: 2 })).map((b) => b.points)).toEqual([['a'], ['b'], ['c']]);
    expect(summary(planReads(points, { maxGapRegisters: 15 }))).toEqual([{ table: 'holding', address: 0, count: 22, points: ['a', 'b', 'c'] }]);
  });

  it('splits a long map at 125 registers', () => {
    const points = Array.from({ length: 200 }, (_, i) => pt({ name: `r${i}`, address: 1000 + i }));
    const blocks = planReads(points, { maxGapRegisters: 8 });
    expect(blocks.map((b) => [b.address, b.count])).toEqual([
      [1000, 125],
      [1125, 75],
    ]);
    // a float32 that would straddle the limit starts the next block instead of being cut
    const floats = Array.from({ length: 70 }, (_, i) => pt({ name: `f${i}`, address: i * 2, type: 'float32' }));
    const fb = planReads([pt({ name: 'x', address: 140, type: 'uint16' }), ...floats], { maxGapRegisters: 0 });
    expect(fb.map((b) => [b.address, b.count])).toEqual([
      [0, 124],
      [124, 17],
    ]);
    expect(fb.every((b) => b.count <= 125)).toBe(true);
  });

  it('SDM120 map (0..343) splits: never more than 125 registers, every point read once', () => {
    const points = profilePoints('eastron-sdm120');
    for (const maxGap of [0, 8, 100]) {
      const blocks = planReads(points, { maxGapRegisters: maxGap });
      expect(blocks.every((b) => b.count <= 125 && b.table === 'input')).toBe(true);
      expect(blocks.flatMap((b) => b.points.map((p) => p.name)).sort()).toEqual(points.map((p) => p.name).sort());
    }
    expect(summary(planReads(points, { maxGapRegisters: 100 }))).toEqual([
      { table: 'input', address: 0, count: 74, points: ['voltage', 'current', 'active_power', 'apparent_power', 'power_factor', 'frequency', 'import_energy'] },
      { table: 'input', address: 342, count: 2, points: ['total_energy'] },
    ]);
    expect(summary(planReads(points, { maxGapRegisters: 8 })).map((b) => [b.address, b.count])).toEqual([
      [0, 20],
      [30, 2],
      [70, 4],
      [342, 2],
    ]);
  });

  it('VEGAPULS: status word and its bits share register 100', () => {
    const points = profilePoints('vegapuls-c21');
    expect(summary(planReads(points, { maxGapRegisters: 8 }))).toEqual([
      { table: 'holding', address: 100, count: 8, points: ['pv_invalid', 'status', 'sv_invalid', 'pv_unit_code', 'pv'] },
    ]);
    expect(summary(planReads(points, { maxGapRegisters: 1 }))).toEqual([
      { table: 'holding', address: 100, count: 1, points: ['pv_invalid', 'status', 'sv_invalid'] },
      { table: 'holding', address: 104, count: 4, points: ['pv_unit_code', 'pv'] },
    ]);
  });

  it('orders blocks coil, discrete, input, holding and uses a wider gap for bit tables', () => {
    const points = [
      pt({ name: 'h', address: 0 }),
      pt({ name: 'i', table: 'input', address: 5 }),
      pt({ name: 'd', table: 'discrete', type: 'bool', address: 7 }),
      pt({ name: 'c2', table: 'coil', type: 'bool', address: 40 }),
      pt({ name: 'c1', table: 'coil', type: 'bool', address: 10 }),
    ];
    expect(summary(planReads(points, { maxGapRegisters: 2 }))).toEqual([
      { table: 'coil', address: 10, count: 31, points: ['c1', 'c2'] },
      { table: 'discrete', address: 7, count: 1, points: ['d'] },
      { table: 'input', address: 5, count: 1, points: ['i'] },
      { table: 'holding', address: 0, count: 1, points: ['h'] },
    ]);
    const coils = Array.from({ length: 2100 }, (_, i) => pt({ name: `c${i}`, table: 'coil', type: 'bool', address: i }));
    expect(planReads(coils, { maxGapRegisters: 0 }).map((b) => b.count)).toEqual([2000, 100]);
  });

  it('is deterministic whatever the input order', () => {
    const points = profilePoints('intesis-dali-ballast');
    const a = planReads(points, { maxGapRegisters: 8 });
    const b = planReads([...points].reverse(), { maxGapRegisters: 8 });
    expect(summary(a)).toEqual(summary(b));
    expect(summary(a)).toEqual([
      { table: 'holding', address: 5, count: 11, points: ['ballast_failure', 'lamp_failure', 'lamp_on', 'status', 'level', 'arc_power'] },
    ]);
  });

  it('refuses a point that runs past address 65535', () => {
    expect(() => planReads([pt({ name: 'x', address: 65535, type: 'float32' })], { maxGapRegisters: 0 })).toThrow(CodecError);
    expect(planReads([pt({ name: 'x', address: 65534, type: 'float32' })], { maxGapRegisters: 0 })).toMatchObject([{ address: 65534, count: 2 }]);
  });
});
