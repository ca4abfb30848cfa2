import { builtinProfiles } from '@cityedge/contract';
import type * as z from 'zod';
import { EastronSdm120, EastronSdm120Options } from './eastron-sdm120.js';
import { GeoluxLx80, GeoluxLx80Options } from './geolux-lx80.js';
import { IntesisDali, IntesisDaliOptions } from './intesis-dali.js';
import { PressureLevel, PressureLevelOptions } from './pressure-level.js';
import { RelayIo, RelayIoOptions } from './relay-io.js';
import { Sht20, Sht20Options } from './sht20.js';
import { VaisalaAqt530, VaisalaAqt530Options } from './vaisala-aqt530.js';
import { VegapulsC21, VegapulsC21Options } from './vegapuls-c21.js';
import type { DeviceContext, SimDevice } from './sim-device.js';

interface ModelEntry<S extends z.ZodType> {
  /** The contract profile an agent uses to read this device. */
  profile: string;
  options: S;
  create(ctx: DeviceContext, options: z.infer<S>): SimDevice;
}

function entry<S extends z.ZodType>(e: ModelEntry<S>): ModelEntry<S> {
  return e;
}

/** Every simulated device model, by the name used in a simulation spec. */
export const MODELS = {
  'vegapuls-c21': entry({ profile: 'vegapuls-c21', options: VegapulsC21Options, create: (ctx, o) => new VegapulsC21(ctx, o) }),
  'geolux-lx80': entry({ profile: 'geolux-lx80', options: GeoluxLx80Options, create: (ctx, o) => new GeoluxLx80(ctx, o) }),
  'pressure-level': entry({ profile: 'pressure-level', options: PressureLevelOptions, create: (ctx, o) => new PressureLevel(ctx, o) }),
  'vaisala-aqt530': entry({ profile: 'vaisala-aqt530', options: VaisalaAqt530Options, create: (ctx, o) => new VaisalaAqt530(ctx, o) }),
  sht20: entry({ profile: 'sht20', options: Sht20Options, create: (ctx, o) => new Sht20(ctx, o) }),
  'intesis-dali': entry({ profile: 'intesis-dali-ballast', options: IntesisDaliOptions, create: (ctx, o) => new IntesisDali(ctx, o) }),
  'eastron-sdm120': entry({ profile: 'eastron-sdm120', options: EastronSdm120Options, create: (ctx, o) => new EastronSdm120(ctx, o) }),
  'relay-io': entry({ profile: 'relay-io-8', options: RelayIoOptions, create: (ctx, o) => new RelayIo(ctx, o) }),
} as const;

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

/** The unit id a model answers on by default: its contract profile's factory default. */
export function defaultUnitId(model: ModelName): number {
  return builtinProfiles.find((p) => p.id === MODELS[model].profile)?.defaults.unitId ?? 1;
}

/** Builds a device from options already checked by the model's schema. */
export function createDevice(model: ModelName, ctx: DeviceContext, options: unknown): SimDevice {
  const m = MODELS[model] as ModelEntry<z.ZodType>;
  return m.create(ctx, options);
}
