import { formatProblems, problemsFromZod } from '@cityedge/contract';
import { pino, type Logger } from 'pino';
import { startCameraSimulation, type CameraSimulation } from './camera/camera-simulation.js';
import { EastronSdm120 } from './devices/eastron-sdm120.js';
import { IntesisDali } from './devices/intesis-dali.js';
import { createDevice, defaultUnitId } from './devices/models.js';
import type { SimDevice } from './devices/sim-device.js';
import type { Endpoint, EndpointInfo } from './endpoints/endpoint.js';
import { RtuOverTcpEndpoint } from './endpoints/rtu-over-tcp-endpoint.js';
import { SerialEndpoint } from './endpoints/serial-endpoint.js';
import { TcpEndpoint } from './endpoints/tcp-endpoint.js';
import { SimError } from './errors.js';
import { createRandom, deriveSeed } from './random.js';
import { SimClock, type Clock } from './sim-clock.js';
import { SimulationSpec, type EndpointSpec } from './spec.js';
import type { FirmataBoardInfo, SimFirmataBoard } from './firmata/firmata-board.js';
import { startFirmataBoards } from './firmata/start-boards.js';

export interface SimulationOptions {
  /** Root logger; the simulation logs under child({ module: 'sim', ... }). Silent by default. */
  logger?: Logger;
  /** Wall clock (epoch ms); inject one to drive behaviour by hand in tests. Defaults to Date.now. */
  clock?: Clock;
  /** Overrides the spec's seed (default 1): the same seed and reads give the same values. */
  seed?: number;
  /** Overrides the spec's timeScale. */
  timeScale?: number;
  /** Simulated epoch ms at start; overrides the spec's startTime (default: the clock's now). */
  startTime?: number;
  /**
   * Real interval at which every device is brought up to date even when nobody reads it (energy
   * integration, lamp failures); 0 disables. Default 1000.
   */
  tickMs?: number;
}

export interface Simulation {
  /** Endpoints with their bound addresses, in spec order. */
  readonly endpoints: readonly EndpointInfo[];
  endpoint(id: string): EndpointInfo;
  /** A device by id; with a model class, checked to be that model (e.g. `sim.device('river', VegapulsC21)`). */
  device(id: string): SimDevice;
  device<T extends SimDevice>(id: string, model: abstract new (...args: never[]) => T): T;
  devices(): readonly SimDevice[];
  /** Simulated epoch milliseconds now. */
  simNow(): number;
  readonly timeScale: number;
  setTimeScale(timeScale: number): void;
  /** The simulated ONVIF cameras of the spec's `cameras` (undefined when it has none). */
  readonly cameras: CameraSimulation | undefined;
  /** The emulated Firmata boards of the spec's `firmataBoards`, with where they are reachable. */
  readonly firmataBoards: readonly FirmataBoardInfo[];
  /** A Firmata board by id: its pins (inputs to drive, outputs with their history). */
  firmataBoard(id: string): SimFirmataBoard;
  /** Closes every endpoint, camera and timer. Safe to call twice. */
  stop(): Promise<void>;
}

/** Checks a spec; throws SIM_CONFIG_INVALID listing every problem with its path. */
export function parseSimulationSpec(input: unknown, source?: string): SimulationSpec {
  const parsed = SimulationSpec.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = problemsFromZod(parsed.error);
  throw new SimError('SIM_CONFIG_INVALID', formatProblems(problems, source), { problems });
}

function buildEndpoint(ep: EndpointSpec, devices: SimDevice[], logger: Logger, seed: number): Endpoint {
  const common = { id: ep.id, devices, logger: logger.child({ endpoint: ep.id }), random: createRandom(deriveSeed(seed, `endpoint:${ep.id}`)) };
  switch (ep.transport) {
    case 'tcp':
      return new TcpEndpoint({ ...common, host: ep.host, port: ep.port, unknownUnit: ep.unknownUnit });
    case 'rtu-over-tcp':
      return new RtuOverTcpEndpoint({ ...common, host: ep.host, port: ep.port, gapMs: ep.frameGapMs ?? 50 });
    case 'serial':
      return new SerialEndpoint({
        ...common,
        path: ep.path ?? '',
        baudRate: ep.baudRate,
        parity: ep.parity,
        dataBits: ep.dataBits,
        stopBits: ep.stopBits,
        gapMs: ep.frameGapMs ?? 20,
      });
  }
}

/**
 * Builds every device and endpoint of a spec and starts listening. Rejects with
 * SIM_CONFIG_INVALID (bad spec) or SIM_LISTEN (a port in use, a serial port that cannot be
 * opened), having closed whatever it had already started.
 */
export async function startSimulation(spec: unknown, options: SimulationOptions = {}): Promise<Simulation> {
  const parsed = parseSimulationSpec(spec);
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ module: 'sim' });
  const clock = options.clock ?? { now: () => Date.now() };
  const seed = options.seed ?? parsed.seed ?? 1;
  const startTime = options.startTime ?? (parsed.startTime === undefined ? undefined : Date.parse(parsed.startTime));
  const simClock = new SimClock(clock, { timeScale: options.timeScale ?? parsed.timeScale, ...(startTime === undefined ? {} : { startTime }) });
  const simStart = simClock.now();

  const devices = new Map<string, SimDevice>();
  const endpoints: Endpoint[] = [];
  for (const ep of parsed.endpoints) {
    const epDevices: SimDevice[] = [];
    for (const d of ep.devices) {
      const device = createDevice(
        d.model,
        {
          id: d.id,
          unitId: d.unitId ?? defaultUnitId(d.model),
          simStart,
          simNow: () => simClock.now(),
          random: createRandom(deriveSeed(seed, `device:${d.id}`)),
          faultRandom: createRandom(deriveSeed(seed, `fault:${d.id}`)),
          logger: logger.child({ device: d.id }),
        },
        d.options,
      );
      if (d.fault) device.setFault(d.fault);
      devices.set(d.id, device);
      epDevices.push(device);
    }
    endpoints.push(buildEndpoint(ep, epDevices, logger, seed));
  }
  for (const d of devices.values()) {
    const source = d instanceof EastronSdm120 ? d.sourceId : undefined;
    const target = source === undefined ? undefined : devices.get(source);
    if (d instanceof EastronSdm120 && target instanceof IntesisDali) d.link(target);
  }

  const started: Endpoint[] = [];
  try {
    for (const ep of endpoints) {
      await ep.start();
      started.push(ep);
    }
  } catch (err) {
    await Promise.all(started.map((ep) => ep.stop()));
    throw err;
  }
  let cameras: CameraSimulation | undefined;
  if (parsed.cameras.length > 0) {
    try {
      cameras = await startCameraSimulation({ cameras: parsed.cameras, discovery: parsed.cameraDiscovery, seed }, { logger: options.logger ?? pino({ level: 'silent' }), clock });
    } catch (err) {
      await Promise.all(started.map((ep) => ep.stop()));
      throw err;
    }
  }

  let boards: SimFirmataBoard[] = [];
  try {
    boards = await startFirmataBoards(parsed.firmataBoards, logger, clock);
  } catch (err) {
    await Promise.all([...started.map((ep) => ep.stop()), cameras?.stop()]);
    throw err;
  }

  const tickMs = options.tickMs ?? 1000;
  const tick = () => {
    for (const d of devices.values()) {
      try {
        d.refresh();
      } catch (err) {
        logger.error({ err, device: d.id }, 'device model failed to update');
      }
    }
  };
  const timer = tickMs > 0 ? setInterval(tick, tickMs) : undefined;
  timer?.unref();
  const infos = endpoints.map((ep) => ep.info());
  for (const info of infos) logger.info({ endpoint: info }, 'endpoint ready');

  let stopped = false;
  return {
    endpoints: infos,
    endpoint(id) {
      const info = infos.find((e) => e.id === id);
      if (!info) throw new SimError('SIM_UNKNOWN_DEVICE', `no endpoint "${id}"; endpoints: ${infos.map((e) => e.id).join(', ')}`);
      return info;
    },
    device<T extends SimDevice>(id: string, model?: abstract new (...args: never[]) => T): T {
      const d = devices.get(id);
      if (!d) throw new SimError('SIM_UNKNOWN_DEVICE', `no device "${id}"; devices: ${[...devices.keys()].join(', ')}`);
      if (model && !(d instanceof model)) throw new SimError('SIM_UNKNOWN_DEVICE', `device "${id}" is a ${d.model}, not a ${model.name}`);
      return d as T;
    },
    devices: () => [...devices.values()],
    simNow: () => simClock.now(),
    get timeScale() {
      return simClock.timeScale;
    },
    setTimeScale(timeScale) {
      if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new SimError('SIM_BAD_VALUE', `timeScale must be a positive number, got ${timeScale}`);
      simClock.setTimeScale(timeScale);
    },
    cameras,
    firmataBoards: boards.map((b) => b.info()),
    firmataBoard(id) {
      const b = boards.find((x) => x.id === id);
      if (!b) throw new SimError('SIM_UNKNOWN_DEVICE', `no Firmata board "${id}"; boards: ${boards.map((x) => x.id).join(', ') || 'none'}`);
      return b;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await Promise.all([...endpoints.map((ep) => ep.stop()), cameras?.stop(), ...boards.map((b) => b.stop())]);
      logger.info('simulation stopped');
    },
  };
}
