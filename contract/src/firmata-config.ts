import * as z from 'zod';

/**
 * A Firmata board line: one microcontroller running StandardFirmata on a serial port (USB) or
 * behind a TCP socket (StandardFirmataEthernet, a ser2net-style serial server). Its devices are
 * groups of pins: a float switch, a rain gauge, a light sensor, a siren relay.
 */

const pointName = z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/, 'expected a lowercase name of letters, digits, "_" and "." (at most 64)');

/** "D2" (digital pin 2), "A0" (analog input 0, wherever the board maps it) or a pin number. */
export const FirmataPin = z.union([
  z.int().min(0).max(127),
  z.string().regex(/^[DA](?:\d|[1-9]\d|1[01]\d|12[0-7])$/, 'expected "D<n>" (digital pin), "A<n>" (analog input) or a pin number 0..127'),
]);

export const FirmataPointMode = z.enum(['digital-in', 'analog-in', 'digital-out', 'pulse-counter']);
export type FirmataPointMode = z.infer<typeof FirmataPointMode>;

/** Valid engineering range (after scale and offset); a value outside is published bad (EDGE_VALUE_RANGE). */
const Range = z
  .strictObject({ min: z.number().finite().optional(), max: z.number().finite().optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, 'expected "min", "max" or both')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, '"min" must not be above "max"');

export const FirmataPoint = z
  .strictObject({
    name: pointName,
    pin: FirmataPin,
    mode: FirmataPointMode,
    /** analog-in: volts = raw / 1023 * 5 is not assumed; value = raw * scale + offset. pulse-counter: value = pulses * scale (e.g. 0.2 mm per tip). */
    scale: z.number().finite().optional(),
    offset: z.number().finite().optional(),
    unit: z.string().max(32).optional(),
    range: Range.optional(),
    /** Inputs: the board's internal pull-up (a switch to ground reads 1 when open). */
    pullUp: z.boolean().optional(),
    /** digital-in / digital-out: the point is true when the pin is low (active-low contacts and relays). pulse-counter: count pulses to low. */
    invert: z.boolean().optional(),
    /** digital-out: whether commands and rules may write it (default true). */
    writable: z.boolean().optional(),
    /** digital-out: the value set whenever the board (re)connects before anything was written (default false: off). */
    initial: z.boolean().optional(),
  })
  .superRefine((p, ctx) => {
    const only = (key: keyof typeof p, ok: boolean, what: string) => {
      if (p[key] !== undefined && !ok) ctx.addIssue({ code: 'custom', path: [key], message: `applies only to ${what} (this one is ${p.mode})` });
    };
    only('scale', p.mode === 'analog-in' || p.mode === 'pulse-counter', 'analog-in and pulse-counter points');
    only('offset', p.mode === 'analog-in', 'analog-in points');
    only('range', p.mode === 'analog-in' || p.mode === 'pulse-counter', 'analog-in and pulse-counter points');
    only('pullUp', p.mode === 'digital-in' || p.mode === 'pulse-counter', 'digital inputs and pulse counters');
    only('invert', p.mode !== 'analog-in', 'digital points');
    only('writable', p.mode === 'digital-out', 'digital-out points');
    only('initial', p.mode === 'digital-out', 'digital-out points');
    if (p.mode === 'analog-in' && typeof p.pin === 'string' && p.pin.startsWith('D')) {
      ctx.addIssue({ code: 'custom', path: ['pin'], message: 'an analog input is "A<n>" (or the pin number the board gives it)' });
    }
  });
export type FirmataPoint = z.infer<typeof FirmataPoint>;

/** The id and serial-path rules of config-schema.ts (passed in so the two files do not import each other). */
interface FirmataLineRules {
  lineId: z.ZodType<string, string>;
  deviceId: z.ZodType<string, string>;
  serialPath: z.ZodType<string, string>;
}

function firmataLineObject(rules: FirmataLineRules) {
  const FirmataDevice = z
    .strictObject({
      id: rules.deviceId,
      name: z.string().optional(),
      enabled: z.boolean().default(true),
      /** Readings every this many ms; defaults to the line's. */
      pollIntervalMs: z.int().min(100).max(86_400_000).optional(),
      points: z.array(FirmataPoint).min(1, 'a board device needs at least one point'),
    })
    .superRefine((d, ctx) => {
      const names = new Map<string, number>();
      d.points.forEach((p, i) => {
        const first = names.get(p.name);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['points', i, 'name'], message: `duplicate point name "${p.name}" (also points[${first}])` });
        else names.set(p.name, i);
      });
    });

  return z.strictObject({
    id: rules.lineId,
    type: z.literal('firmata'),
    /** Serial board: its device, e.g. /dev/ttyACM0 or /dev/serial/by-id/usb-Arduino...; or host (and port) for a network board. */
    path: rules.serialPath.optional(),
    host: z.string().min(1).optional(),
    /** Network board port (StandardFirmataEthernet listens on 3030). */
    port: z.int().min(1).max(65535).optional(),
    /** StandardFirmata's serial speed. */
    baudRate: z.int().positive().max(4_000_000).default(57600),
    /** Default reading interval of the line's devices. */
    pollIntervalMs: z.int().min(100).max(86_400_000).default(1000),
    /** How often the board samples and reports analog inputs (Firmata sampling interval). */
    samplingIntervalMs: z.int().min(10).max(65_535).default(100),
    /** Longest wait for a query (pin state, liveness check). */
    timeoutMs: z.int().min(10).max(60_000).default(1000),
    /** Longest wait from opening the port to the end of the handshake; a USB board resets when opened (about 2 s). */
    handshakeTimeoutMs: z.int().min(500).max(120_000).default(10_000),
    /** Consecutive failed readings after which a device is reported offline. */
    quarantineAfter: z.int().min(1).max(100).default(3),
    /** Longest interval between attempts to reconnect a board that is gone. */
    maxBackoffMs: z.int().min(1000).max(3_600_000).default(60_000),
    devices: z.array(FirmataDevice).default([]),
  });
}

type FirmataLineChecked = Omit<z.infer<ReturnType<typeof firmataLineObject>>, 'id'>;

/** Rules across a line's fields: serial or network, and one point per pin. */
function checkFirmataLine(line: FirmataLineChecked, ctx: z.RefinementCtx): void {
  if ((line.path === undefined) === (line.host === undefined)) {
    ctx.addIssue({ code: 'custom', path: [line.path === undefined ? 'path' : 'host'], message: 'a firmata line needs either "path" (a serial board) or "host" (a network board), not both' });
  }
  if (line.port !== undefined && line.host === undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: '"port" applies only with "host"' });
  const pins = new Map<string, string>();
  line.devices.forEach((d, di) =>
    d.points.forEach((p, pi) => {
      const key = pinKey(p.pin);
      const first = pins.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['devices', di, 'points', pi, 'pin'], message: `pin ${String(p.pin)} is already used by ${first}` });
      else pins.set(key, `devices[${di}].points[${pi}]`);
    }),
  );
}

/** The line schema, built from the id and serial-path rules of config-schema.ts. */
export function firmataLineSchema(rules: FirmataLineRules) {
  return firmataLineObject(rules).superRefine(checkFirmataLine);
}

/** The same line without its id (the registry's line record takes the id from its path). */
export function firmataLineBodySchema(rules: FirmataLineRules) {
  return firmataLineObject(rules).omit({ id: true }).superRefine(checkFirmataLine);
}

/** "d2", "a0" or "13" — two points on one pin collide only when spelled the same way (A0 and 14 are the same pin on an Uno, which only the board can tell). */
function pinKey(pin: string | number): string {
  return typeof pin === 'number' ? `d${pin}` : pin.toLowerCase();
}

type FirmataLineShape = z.infer<ReturnType<typeof firmataLineSchema>>;

/** A board device as the agent runs it: its interval settled, only its points. */
export interface ResolvedFirmataDevice {
  id: string;
  name?: string;
  lineId: string;
  pollIntervalMs: number;
  points: FirmataPoint[];
}

/** A Firmata line as the agent runs it (the counterpart of ResolvedLine for Modbus lines). */
export interface ResolvedFirmataLine<C extends FirmataLineShape = FirmataLineShape> {
  config: C;
  devices: ResolvedFirmataDevice[];
}

/** The enabled devices of a Firmata line with the line's defaults applied. Pins the board cannot do are found when it connects. */
export function resolveFirmataLine<C extends FirmataLineShape>(line: C): ResolvedFirmataLine<C> {
  return {
    config: line,
    devices: line.devices
      .filter((d) => d.enabled)
      .map((d) => ({ id: d.id, ...(d.name !== undefined && { name: d.name }), lineId: line.id, pollIntervalMs: d.pollIntervalMs ?? line.pollIntervalMs, points: d.points })),
  };
}
