import * as z from 'zod';

/** Modbus data tables: coils (FC01/05/15), discrete inputs (FC02), input (FC04) and holding registers (FC03/06/16). */
export const RegisterTable = z.enum(['coil', 'discrete', 'input', 'holding']);
export type RegisterTable = z.infer<typeof RegisterTable>;

export const PointType = z.enum(['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string']);
export type PointType = z.infer<typeof PointType>;

/**
 * Order of the 16-bit words and bytes of a multi-register value, named by where the most
 * significant byte A lands: ABCD big-endian (Modbus default), CDAB word-swapped, BADC
 * byte-swapped, DCBA little-endian. For 64-bit values the same rule extends to 8 bytes.
 */
export const WordOrder = z.enum(['ABCD', 'CDAB', 'BADC', 'DCBA']);
export type WordOrder = z.infer<typeof WordOrder>;

/**
 * The values a point can really take, in its engineering unit (after scale and offset): the
 * sensor's limits from its datasheet. A decoded value outside is not a measurement (a wrong word
 * order, a wrong scale, a sensor fault) and is published as bad (EDGE_VALUE_RANGE), never as good.
 */
export const ValueRange = z
  .strictObject({ min: z.number().finite().optional(), max: z.number().finite().optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, 'expected "min", "max" or both')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, '"min" must not be above "max"');
export type ValueRange = z.infer<typeof ValueRange>;

const pointName = z
  .string()
  .regex(/^[a-z][a-z0-9_.]{0,63}$/, 'expected a lowercase name of letters, digits, "_" and "." (at most 64)');

export const PointSpec = z
  .strictObject({
    name: pointName,
    description: z.string().optional(),
    table: RegisterTable,
    /** 0-based protocol address. */
    address: z.int().min(0).max(65535),
    type: PointType,
    /** Bit 0..15 of a register, for a bool point in a register table. */
    bit: z.int().min(0).max(15).optional(),
    /** Registers a string occupies (2 ASCII characters each). */
    length: z.int().min(1).max(125).optional(),
    wordOrder: WordOrder.optional(),
    /** value = raw * scale + offset (then divided by 10^decimals when decimalsFrom is set). */
    scale: z.number().finite().optional(),
    offset: z.number().finite().optional(),
    /** Name of another point of the device whose value is the number of decimals of this one. */
    decimalsFrom: pointName.optional(),
    unit: z.string().max(32).optional(),
    /** Valid range in `unit`; values outside are published bad (EDGE_VALUE_RANGE). */
    range: ValueRange.optional(),
    writable: z.boolean().optional(),
  })
  .superRefine((p, ctx) => {
    const bitTable = p.table === 'coil' || p.table === 'discrete';
    if (bitTable && p.type !== 'bool') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${p.table} point must have type "bool"` });
    }
    if (!bitTable && p.type === 'bool' && p.bit === undefined) {
      ctx.addIssue({ code: 'custom', path: ['bit'], message: 'a bool point in a register table needs "bit" (0..15)' });
    }
    if (p.bit !== undefined && (bitTable || p.type !== 'bool')) {
      ctx.addIssue({ code: 'custom', path: ['bit'], message: '"bit" applies only to a bool point in a register table' });
    }
    if (p.type === 'string' && p.length === undefined) {
      ctx.addIssue({ code: 'custom', path: ['length'], message: 'a string point needs "length" in registers' });
    }
    if (p.range !== undefined && (p.type === 'bool' || p.type === 'string')) {
      ctx.addIssue({ code: 'custom', path: ['range'], message: `a ${p.type} point has no range` });
    }
    if (p.writable && p.table !== 'coil' && p.table !== 'holding') {
      ctx.addIssue({ code: 'custom', path: ['writable'], message: 'only coil and holding points can be written' });
    }
  });
export type PointSpec = z.infer<typeof PointSpec>;

export const ProfileKind = z.enum(['water-level', 'air-quality', 'lighting', 'energy', 'environment', 'io', 'other']);

export const SerialParity = z.enum(['none', 'even', 'odd']);

export const DeviceProfile = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a lowercase id of letters, digits, ".", "_" and "-"'),
    name: z.string().min(1),
    kind: ProfileKind.default('other'),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    description: z.string().optional(),
    /** Factory defaults, used when the device configuration does not say otherwise. */
    defaults: z
      .strictObject({
        unitId: z.int().min(0).max(255).optional(),
        baudRate: z.int().positive().optional(),
        parity: SerialParity.optional(),
        stopBits: z.union([z.literal(1), z.literal(2)]).optional(),
        pollIntervalMs: z.int().min(100).optional(),
      })
      .default({}),
    points: z.array(PointSpec).min(1, 'a profile needs at least one point'),
  })
  .superRefine((profile, ctx) => {
    const seen = new Map<string, number>();
    profile.points.forEach((p, i) => {
      const first = seen.get(p.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['points', i, 'name'], message: `duplicate point name "${p.name}" (also points[${first}])` });
      } else seen.set(p.name, i);
    });
    profile.points.forEach((p, i) => {
      if (p.decimalsFrom === undefined) return;
      const src = profile.points.find((q) => q.name === p.decimalsFrom);
      if (!src) {
        ctx.addIssue({ code: 'custom', path: ['points', i, 'decimalsFrom'], message: `no point named "${p.decimalsFrom}" in this profile` });
      } else if (src.decimalsFrom !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['points', i, 'decimalsFrom'], message: `"${p.decimalsFrom}" must not itself use decimalsFrom` });
      }
    });
  });
export type DeviceProfile = z.infer<typeof DeviceProfile>;
export type DeviceProfileInput = z.input<typeof DeviceProfile>;
