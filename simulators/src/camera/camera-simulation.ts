import { formatProblems, problemsFromZod } from '@cityedge/contract';
import { pino, type Logger } from 'pino';
import { SimError } from '../errors.js';
import { createRandom, deriveSeed } from '../random.js';
import type { Clock } from '../sim-clock.js';
import { CameraSimulationSpec } from './camera-spec.js';
import { SimCamera, type CameraInfo } from './sim-camera.js';
import { DiscoveryResponder } from './ws-discovery.js';

export interface CameraSimulationOptions {
  /** Root logger; cameras log under child({ module: 'camera-sim', camera }). Silent by default. */
  logger?: Logger;
  /** Wall clock (epoch ms) behind every camera's clock and the video frames. Default Date.now. */
  clock?: Clock;
  /** Overrides the spec's seed (discovery delays). */
  seed?: number;
}

export interface CameraSimulation {
  /** Every camera as it was once started, in spec order (call camera(id).info() for live state). */
  readonly cameras: readonly CameraInfo[];
  camera(id: string): SimCamera;
  /** The shared WS-Discovery UDP port on 127.0.0.1 where every camera with discovery answers. */
  readonly discoveryPort: number;
  /** Stops every camera and socket. Safe to call twice. */
  stop(): Promise<void>;
}

/** Checks a camera simulation spec; throws SIM_CONFIG_INVALID listing every problem with its path. */
export function parseCameraSimulationSpec(input: unknown, source?: string): CameraSimulationSpec {
  const parsed = CameraSimulationSpec.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = problemsFromZod(parsed.error);
  throw new SimError('SIM_CONFIG_INVALID', formatProblems(problems, source), { problems });
}

/**
 * Starts simulated ONVIF cameras on 127.0.0.1. Rejects with SIM_CONFIG_INVALID (bad spec) or
 * SIM_LISTEN (a port in use), having closed whatever it had started.
 */
export async function startCameraSimulation(spec: unknown, options: CameraSimulationOptions = {}): Promise<CameraSimulation> {
  const parsed = parseCameraSimulationSpec(spec);
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ module: 'camera-sim' });
  const clock = options.clock ?? { now: () => Date.now() };
  const seed = options.seed ?? parsed.seed ?? 1;
  const cameras = new Map<string, SimCamera>();
  for (const c of parsed.cameras) {
    cameras.set(
      c.id,
      new SimCamera({ spec: c, clock, logger: logger.child({ camera: c.id }), random: createRandom(deriveSeed(seed, `camera:${c.id}`)), discoveryMaxDelayMs: parsed.discovery.maxDelayMs }),
    );
  }
  const shared = new DiscoveryResponder({
    host: parsed.host,
    port: parsed.discovery.port,
    cameras: () => [...cameras.values()].filter((c) => c.state.spec.discovery),
    maxDelayMs: parsed.discovery.maxDelayMs,
    random: createRandom(deriveSeed(seed, 'discovery')),
    logger: logger.child({ service: 'discovery' }),
  });
  const started: SimCamera[] = [];
  let discoveryPort: number;
  try {
    for (const cam of cameras.values()) {
      await cam.start();
      started.push(cam);
    }
    discoveryPort = await shared.start();
  } catch (err) {
    await Promise.all(started.map((c) => c.stop()));
    await shared.stop();
    throw err instanceof SimError ? err : new SimError('SIM_LISTEN', `camera simulation could not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const infos = [...cameras.values()].map((c) => c.info());
  logger.info({ cameras: infos.length, discoveryPort }, 'camera simulation ready');
  let stopped = false;
  return {
    cameras: infos,
    discoveryPort,
    camera(id) {
      const cam = cameras.get(id);
      if (!cam) throw new SimError('SIM_UNKNOWN_DEVICE', `no camera "${id}"; cameras: ${[...cameras.keys()].join(', ')}`);
      return cam;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await shared.stop();
      await Promise.all([...cameras.values()].map((c) => c.stop()));
      logger.info('camera simulation stopped');
    },
  };
}
