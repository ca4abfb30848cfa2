import * as z from 'zod';
import type { Random } from './random.js';

const probability = { probability: z.number().min(0).max(1).default(1) };

/**
 * What a device does wrong on the wire. probability (0..1) makes a fault intermittent: each
 * request rolls the dice. How a fault looks depends on the transport (see endpoints/render.ts).
 */
export const FaultObject = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('none') }),
  /** Silence: the request is lost and not applied. */
  z.strictObject({ mode: z.literal('no-reply'), ...probability }),
  /** RTU: a reply with a corrupted CRC. TCP: a reply with a malformed MBAP header (protocol id 0xFFFF) and a corrupted last byte. */
  z.strictObject({ mode: z.literal('crc-error'), ...probability }),
  /** A Modbus exception reply with this code (1..11); the request is not applied. */
  z.strictObject({ mode: z.literal('exception'), code: z.int().min(1).max(11), ...probability }),
  /** A correct reply after delayMs (the request is applied on arrival). */
  z.strictObject({ mode: z.literal('slow'), delayMs: z.int().min(0).max(120_000), ...probability }),
  /** 3..16 random bytes instead of the reply. */
  z.strictObject({ mode: z.literal('garbage'), ...probability }),
  /** Only the first part of the reply frame. */
  z.strictObject({ mode: z.literal('truncated'), ...probability }),
  /** A well-formed reply carrying another unit id (default: this unit + 1). */
  z.strictObject({ mode: z.literal('wrong-unit'), unitId: z.int().min(0).max(255).optional(), ...probability }),
]);
export type Fault = z.infer<typeof FaultObject>;
export type FaultInput = z.input<typeof FaultObject>;
export type FaultMode = Fault['mode'];

export const FAULT_MODES: readonly FaultMode[] = ['none', 'no-reply', 'crc-error', 'exception', 'slow', 'garbage', 'truncated', 'wrong-unit'];

/**
 * The short form used on the command line and in YAML: `mode[:arg][@probability]`, e.g.
 * `no-reply`, `exception:4`, `slow:800`, `wrong-unit:9`, `crc-error@0.3`. Returns a plain object
 * for the schema to check, so an unknown mode or a bad number is reported like any other.
 */
export function faultFromString(text: string): Record<string, unknown> {
  const [head = '', prob] = text.trim().split('@', 2);
  const [mode = '', arg] = head.split(':', 2);
  const out: Record<string, unknown> = { mode };
  if (prob !== undefined) out.probability = toNumber(prob);
  if (arg !== undefined) {
    if (mode === 'exception') out.code = toNumber(arg);
    else if (mode === 'slow') out.delayMs = toNumber(arg);
    else if (mode === 'wrong-unit') out.unitId = toNumber(arg);
    else out.argument = arg; // this mode takes none: the strict schema reports the unknown key
  }
  return out;
}

function toNumber(s: string): number | string {
  const n = Number(s);
  return s.trim() !== '' && Number.isFinite(n) ? n : s;
}

/** A fault given as an object or in the short string form. */
export const FaultSpec = z.preprocess((v) => (typeof v === 'string' ? faultFromString(v) : v), FaultObject);

/** The fault to apply to one request, or undefined when this request goes through normally. */
export function rollFault(fault: Fault, random: Random): Exclude<Fault, { mode: 'none' }> | undefined {
  if (fault.mode === 'none') return undefined;
  if (fault.probability >= 1 || random() < fault.probability) return fault;
  return undefined;
}
