import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { applyFlags, FlagError, type FlagOrigin } from './cli-args.js';
import { usage } from './cli-help.js';
import type { CameraInfo } from './camera/sim-camera.js';
import type { EndpointInfo } from './endpoints/endpoint.js';
import { SimError } from './errors.js';
import { startSimulation, type Simulation } from './simulation.js';
import { applyBoardFlags } from './firmata/board-flags.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Stops the simulation when aborted (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called once the endpoints are up (tests use it to talk to them). */
  onReady?(sim: Simulation): void;
}


function describe(info: EndpointInfo): string {
  const where = info.transport === 'serial' ? `${info.path} ${info.baudRate}` : `${info.host}:${info.port}`;
  const devices = info.devices.map((d) => `${d.id}=${d.model}@${d.unitId}`).join(' ');
  return `${info.id}\t${info.transport}\t${where}\t${devices}`;
}

function describeCamera(cam: CameraInfo): string {
  const faults = cam.faults.length ? `\tfaults ${cam.faults.map((f) => f.mode).join(',')}` : '';
  return `${cam.id}\tcamera\t${cam.deviceServiceUrl}\t${cam.rtspUrl}\t${cam.snapshotUrl}\tdiscovery udp ${cam.discoveryPort ?? '-'}${faults}`;
}

/** Names the flag a spec problem came from, or the config file. */
function locate(path: string, origins: readonly FlagOrigin[], configFile: string | undefined): string {
  const hit = origins.find((o) => path === o.prefix || path.startsWith(`${o.prefix}.`) || path.startsWith(`${o.prefix}[`));
  if (hit) {
    const rest = path.slice(hit.prefix.length).replace(/^\./, '');
    return rest ? `${hit.flag}: ${rest}` : hit.flag;
  }
  return configFile ? `${configFile}: ${path}` : path;
}

/** The CLI: returns the exit code (0 stopped cleanly, 1 could not start, 2 bad flags or config). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const fail = (message: string, code: number) => {
    io.stderr(`cityedge-sim: ${message}\n`);
    return code;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        device: { type: 'string', multiple: true },
        camera: { type: 'string', multiple: true },
        fault: { type: 'string', multiple: true },
        'firmata-board': { type: 'string', multiple: true },
        host: { type: 'string' },
        'time-scale': { type: 'string' },
        seed: { type: 'string' },
        start: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return fail(`${(err as Error).message.split('\n')[0]} (see --help)`, 2);
  }
  if (values.help) {
    io.stdout(usage());
    return 0;
  }

  const number = (flag: string, text: string | undefined, ok: (n: number) => boolean): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new FlagError(`--${flag} "${text}": not a valid value`);
    return n;
  };
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  let spec: Record<string, unknown> = {};
  let origins: FlagOrigin[];
  let timeScale: number | undefined;
  let seed: number | undefined;
  let startTime: number | undefined;
  try {
    if (values['log-level'] !== undefined && !levels.includes(values['log-level'])) throw new FlagError(`--log-level "${values['log-level']}": expected one of ${levels.join(', ')}`);
    timeScale = number('time-scale', values['time-scale'], (n) => n > 0);
    seed = number('seed', values.seed, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff);
    if (values.start !== undefined) {
      startTime = Date.parse(values.start);
      if (Number.isNaN(startTime)) throw new FlagError(`--start "${values.start}": expected an ISO 8601 date and time`);
    }
    if (values.config !== undefined) {
      let text: string;
      try {
        text = await readFile(values.config, 'utf8');
      } catch (err) {
        throw new FlagError(`--config "${values.config}": cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      let doc: unknown;
      try {
        doc = parseYaml(text);
      } catch (err) {
        throw new FlagError(`${values.config}: ${(err as Error).message.split('\n')[0]}`);
      }
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FlagError(`${values.config}: expected a mapping with "endpoints"`);
      spec = doc as Record<string, unknown>;
    }
    if (values.config === undefined && !values.device?.length && !values.camera?.length && !values['firmata-board']?.length) throw new FlagError('nothing to simulate: give --config, --device, --camera or --firmata-board (see --help)');
    origins = applyFlags(spec, { device: values.device ?? [], camera: values.camera ?? [], fault: values.fault ?? [], host: values.host });
    origins.push(...applyBoardFlags(spec, values['firmata-board'] ?? [], values.host));
  } catch (err) {
    if (err instanceof FlagError) return fail(err.message, 2);
    throw err;
  }

  const logger = pino({ level: values['log-level'] ?? 'info', base: undefined }, pino.destination({ dest: 2, sync: true }));
  let sim: Simulation;
  try {
    sim = await startSimulation(spec, {
      logger,
      ...(timeScale === undefined ? {} : { timeScale }),
      ...(seed === undefined ? {} : { seed }),
      ...(startTime === undefined ? {} : { startTime }),
    });
  } catch (err) {
    if (err instanceof SimError && err.code === 'SIM_CONFIG_INVALID') {
      for (const p of err.problems) io.stderr(`cityedge-sim: ${locate(p.path, origins, values.config)}: ${p.message}\n`);
      return 2;
    }
    if (err instanceof SimError) return fail(err.message, 1);
    throw err;
  }

  io.stdout(`cityedge-sim: ${sim.endpoints.length} endpoint(s) up, time scale ${sim.timeScale}\n`);
  for (const info of sim.endpoints) io.stdout(`${describe(info)}\n`);
  if (sim.cameras) io.stdout(`cityedge-sim: ${sim.cameras.cameras.length} camera(s) up, WS-Discovery on udp 127.0.0.1:${sim.cameras.discoveryPort}\n`);
  for (const cam of sim.cameras?.cameras ?? []) io.stdout(`${describeCamera(cam)}\n`);
  for (const b of sim.firmataBoards) io.stdout(`${b.id}\tfirmata\t${b.path ?? `${b.host}:${b.port}`}\t${b.firmware}\n`);
  io.onReady?.(sim);

  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      io.signal?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (io.signal?.aborted) done();
    else io.signal?.addEventListener('abort', done);
  });
  await sim.stop();
  io.stderr('cityedge-sim: stopped\n');
  return 0;
}
