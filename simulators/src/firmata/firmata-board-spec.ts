import * as z from 'zod';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected an id of letters, digits, ".", "_" and "-" (at most 64)');
const UNO_PIN = /^(D(1?\d)|A[0-5])$/i;
const ANALOG_PIN = /^A[0-5]$/i;
const unoPin = z.string().regex(UNO_PIN, 'expected an Uno pin D0..D19 or A0..A5');

/** A map keyed by pin name; a bad key is reported at its own path (zod's record keys give a vague "Invalid key"). */
function pinMap<V extends z.ZodType>(value: V, pattern: RegExp, what: string) {
  return z.record(z.string(), value).superRefine((m, ctx) => {
    for (const k of Object.keys(m)) if (!pattern.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `expected ${what}` });
  });
}

/**
 * An Arduino Uno running StandardFirmata in the AVR emulator, on a serial device (one end of a
 * socat pty pair: `path`) or as a network board on a TCP port (`port`, 0 for an ephemeral one),
 * with its inputs wired at start.
 */
export const FirmataBoardSpec = z
  .strictObject({
    id,
    /** Serial device the board's UART is wired to (the agent opens the other end of the pty pair). */
    path: z.string().min(1).optional(),
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port of a network board (0 = ephemeral; the bound one is reported). */
    port: z.int().min(0).max(65535).optional(),
    /** Levels driven on input pins at start, e.g. { D2: true } (a float switch open, pulled up). */
    digital: pinMap(z.boolean(), UNO_PIN, 'an Uno pin D0..D19 or A0..A5').default({}),
    /** Volts on analog inputs at start, e.g. { A0: 2.5 } (a light sensor). */
    analog: pinMap(z.number().min(0).max(5), ANALOG_PIN, 'an analog input A0..A5').default({}),
    /** A tipping-bucket rain gauge: a reed-switch closure (to ground) on `pin` every periodMs of board time. */
    rainGauge: z
      .strictObject({ pin: unoPin, periodMs: z.int().min(20).max(86_400_000), widthMs: z.int().min(5).max(10_000).default(50) })
      .refine((r) => r.widthMs < r.periodMs, { message: 'widthMs must be less than periodMs', path: ['widthMs'] })
      .optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.path === undefined) === (b.port === undefined)) ctx.addIssue({ code: 'custom', path: ['path'], message: 'a board needs either "path" (serial, e.g. a socat pty) or "port" (a network board), not both' });
  });
export type FirmataBoardSpec = z.infer<typeof FirmataBoardSpec>;
