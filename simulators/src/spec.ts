import * as z from 'zod';
import { CameraDiscoverySpec, CameraSpec } from './camera/camera-spec.js';
import { FaultSpec } from './faults.js';
import { FirmataBoardSpec } from './firmata/firmata-board-spec.js';
import { defaultUnitId, MODEL_NAMES, type ModelName } from './devices/models.js';
import { EastronSdm120Options } from './devices/eastron-sdm120.js';
import { RelayIoOptions } from './devices/relay-io.js';
import { GeoluxLx80Options } from './devices/geolux-lx80.js';
import { IntesisDaliOptions } from './devices/intesis-dali.js';
import { PressureLevelOptions } from './devices/pressure-level.js';
import { Sht20Options } from './devices/sht20.js';
import { VaisalaAqt530Options } from './devices/vaisala-aqt530.js';
import { VegapulsC21Options } from './devices/vegapuls-c21.js';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected an id of letters, digits, ".", "_" and "-" (at most 64)');

function deviceSpec<M extends ModelName, S extends z.ZodObject>(model: M, options: S) {
  return z.strictObject({
    id,
    model: z.literal(model),
    /** Defaults to the contract profile's unit id (246 for the VEGAPULS, 1 for the others). */
    unitId: z.int().min(0).max(255).optional(),
    options: options.prefault({} as z.input<S>),
    /** Fault at start: an object or the short form "exception:4@0.5". */
    fault: FaultSpec.optional(),
  });
}

export const DeviceSpec = z.discriminatedUnion('model', [
  deviceSpec('vegapuls-c21', VegapulsC21Options),
  deviceSpec('geolux-lx80', GeoluxLx80Options),
  deviceSpec('pressure-level', PressureLevelOptions),
  deviceSpec('vaisala-aqt530', VaisalaAqt530Options),
  deviceSpec('sht20', Sht20Options),
  deviceSpec('intesis-dali', IntesisDaliOptions),
  deviceSpec('eastron-sdm120', EastronSdm120Options),
  deviceSpec('relay-io', RelayIoOptions),
]);
export type DeviceSpec = z.infer<typeof DeviceSpec>;

export const EndpointSpec = z
  .strictObject({
    id,
    transport: z.enum(['tcp', 'rtu-over-tcp', 'serial']),
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 = an ephemeral port (the bound one is reported). */
    port: z.int().min(0).max(65535).default(0),
    /** Serial device for transport "serial". */
    path: z.string().min(1).optional(),
    baudRate: z.int().positive().max(4_000_000).default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
    /** RTU: silence after which a partial frame is dropped (default 20 ms on serial, 50 ms over TCP). */
    frameGapMs: z.number().min(0).max(60_000).optional(),
    /** TCP: what a request for a unit id no device has gets (default: exception 0x0B, as from a gateway). */
    unknownUnit: z.enum(['exception', 'ignore']).default('exception'),
    devices: z.array(DeviceSpec).min(1, 'an endpoint needs at least one device'),
  })
  .superRefine((ep, ctx) => {
    if (ep.transport === 'serial' && ep.path === undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'a serial endpoint needs "path"' });
    if (ep.transport !== 'serial' && ep.path !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: '"path" applies only to a serial endpoint' });
    const seen = new Map<number, number>();
    ep.devices.forEach((d, i) => {
      const unit = d.unitId ?? defaultUnitId(d.model);
      if (ep.transport !== 'tcp' && (unit < 1 || unit > 247)) {
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'unitId'], message: `expected 1..247 on an RTU bus, got ${unit}` });
      }
      const first = seen.get(unit);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['devices', i, 'unitId'], message: `unit id ${unit} is also used by devices[${first}]` });
      else seen.set(unit, i);
    });
  });
export type EndpointSpec = z.infer<typeof EndpointSpec>;

export const SimulationSpec = z
  .strictObject({
    /** Simulated time runs this many times faster than the clock (e.g. 240: a 24 h flood cycle in 6 minutes). */
    timeScale: z.number().positive().max(1_000_000).default(1),
    /** Simulated time at start, ISO 8601 with offset (default: now). */
    startTime: z.iso.datetime({ offset: true }).optional(),
    /** Seed of every random stream (noise, failures, fault dice). */
    seed: z.int().min(0).max(0xffffffff).optional(),
    endpoints: z.array(EndpointSpec).default([]),
    /** Simulated ONVIF cameras (see camera/index.ts), started on 127.0.0.1 beside the endpoints. */
    cameras: z.array(CameraSpec).default([]),
    cameraDiscovery: CameraDiscoverySpec,
    /** Arduino Unos running StandardFirmata in the AVR emulator (see firmata/firmata-board.ts). */
    firmataBoards: z.array(FirmataBoardSpec).default([]),
  })
  .superRefine((spec, ctx) => {
    const boardIds = new Map<string, number>();
    spec.firmataBoards.forEach((b, i) => {
      const first = boardIds.get(b.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['firmataBoards', i, 'id'], message: `duplicate board id "${b.id}" (also firmataBoards[${first}])` });
      else boardIds.set(b.id, i);
    });
    if (spec.endpoints.length === 0 && spec.cameras.length === 0 && spec.firmataBoards.length === 0) ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'a simulation needs at least one endpoint' });
    const cameraIds = new Map<string, number>();
    spec.cameras.forEach((c, i) => {
      const first = cameraIds.get(c.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate camera id "${c.id}" (also cameras[${first}])` });
      else cameraIds.set(c.id, i);
    });
    const endpointIds = new Map<string, number>();
    const devices = new Map<string, { model: string; path: PropertyKey[] }>();
    spec.endpoints.forEach((ep, i) => {
      const first = endpointIds.get(ep.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'id'], message: `duplicate endpoint id "${ep.id}" (also endpoints[${first}])` });
      else endpointIds.set(ep.id, i);
      ep.devices.forEach((d, j) => {
        const path = ['endpoints', i, 'devices', j];
        if (devices.has(d.id)) ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `duplicate device id "${d.id}"` });
        else devices.set(d.id, { model: d.model, path });
      });
    });
    spec.endpoints.forEach((ep, i) =>
      ep.devices.forEach((d, j) => {
        if (d.model !== 'eastron-sdm120' || d.options.source === undefined) return;
        const target = devices.get(d.options.source);
        if (target?.model !== 'intesis-dali') {
          ctx.addIssue({
            code: 'custom',
            path: ['endpoints', i, 'devices', j, 'options', 'source'],
            message: target ? `"${d.options.source}" is a ${target.model}, not an intesis-dali gateway` : `no device "${d.options.source}" in this simulation`,
          });
        }
      }),
    );
  });
export type SimulationSpec = z.infer<typeof SimulationSpec>;
/** A spec as written (defaults may be left out). */
export type SimulationSpecInput = z.input<typeof SimulationSpec>;

export { MODEL_NAMES };
