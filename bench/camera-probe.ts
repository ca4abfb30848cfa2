import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { builtinProfiles, createCatalog, resolveGatewayConfig, type GatewayConfigInput, type ResolvedConfig } from '@cityedge/contract';
import { createTransport } from '@cityedge/drivers';
import { CameraProber, LineScheduler, type ReadingSink } from '@cityedge/edge-agent';
import { JsonChild } from './json-child.js';
import { CpuMeter, percentile } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';
import { SIM_FLAG, type SimStarted } from './sim-child.js';

export interface CameraBenchOptions {
  logger: Logger;
  benchScript: string;
  ticksPerSecond: number;
  cameras?: number;
  /** Camera concurrency caps to run, one full probe round each; the first is the agent's default. */
  concurrencies?: number[];
  lines?: number;
  devicesPerLine?: number;
  pollIntervalMs?: number;
  baselineMs?: number;
  /** Window of the steady-state run (cameras on their default schedule). */
  steadyWindowMs?: number;
}

/** Poll slips recorded between begin() and end(), from the schedulers' own DeviceStats.lastSlipMs. */
class SlipRecorder {
  private slips: number[] = [];
  private polls = 0;
  private failed = 0;
  private recording = false;

  record(slipMs: number, outcome: string): void {
    if (!this.recording) return;
    this.slips.push(slipMs);
    this.polls++;
    if (outcome === 'failed') this.failed++;
  }

  begin(): void {
    this.slips = [];
    this.polls = 0;
    this.failed = 0;
    this.recording = true;
  }

  end(): { max: number | undefined; p99: number | undefined; polls: number; failed: number } {
    this.recording = false;
    const sorted = Float64Array.from(this.slips).sort();
    return { max: sorted.length ? sorted[sorted.length - 1] : undefined, p99: percentile(sorted, 99), polls: this.polls, failed: this.failed };
  }
}

const countingSink = (): ReadingSink & { readings: number } => {
  const sink = {
    readings: 0,
    appendReadings(r: unknown[]) {
      sink.readings += r.length;
    },
    appendEvent() {},
  };
  return sink;
};

function resolve(config: GatewayConfigInput): ResolvedConfig {
  const r = resolveGatewayConfig(config, createCatalog(builtinProfiles));
  if (!r.ok) throw new Error(`bench gateway config invalid: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return r.value;
}

/**
 * One gateway's camera prober probing simulated ONVIF cameras (a child process: SOAP, RTSP
 * DESCRIBE, a 640x360 JPEG snapshot each, with digest auth) while line schedulers in this same
 * process poll simulated AQT530 stations (another child process) every 100 ms: the time of a
 * full probe round and the worst poll slip meanwhile, next to a baseline without cameras.
 */
export async function benchCameras(scope: Scope, o: CameraBenchOptions): Promise<Row[]> {
  const nCameras = o.cameras ?? 200;
  const concurrencies = o.concurrencies ?? [8];
  const nLines = o.lines ?? 2;
  const perLine = o.devicesPerLine ?? 5;
  const interval = o.pollIntervalMs ?? 100;
  const section = `8. cameras: one gateway probes ${nCameras} simulated cameras (640x360, separate process) while polling ${nLines * perLine} AQT530 every ${interval} ms on ${nLines} Modbus TCP lines`;
  const s = scope.child();
  try {
    const modbusSim = new JsonChild(s, o.benchScript, SIM_FLAG);
    modbusSim.send({
      start: {
        endpoints: Array.from({ length: nLines }, (_, l) => ({
          id: `line-${l}`,
          transport: 'tcp',
          devices: Array.from({ length: perLine }, (_, d) => ({ id: `aq-${l}-${d}`, model: 'vaisala-aqt530', unitId: d + 1 })),
        })),
      },
    });
    const cameraSim = new JsonChild(s, o.benchScript, SIM_FLAG);
    const t0 = performance.now();
    cameraSim.send({
      start: {
        endpoints: [],
        cameras: Array.from({ length: nCameras }, (_, i) => ({ id: `cam-${String(i).padStart(3, '0')}`, username: 'admin', password: 'bench-pass', width: 640, height: 360, fps: 5, discovery: false })),
      },
    });
    const modbus = await modbusSim.take<SimStarted>('started', 20_000);
    const cams = await cameraSim.take<SimStarted>('started', 60_000);
    const simStartSeconds = (performance.now() - t0) / 1000;

    const baseConfig: GatewayConfigInput = {
      gateway: { id: 'gw-bench' },
      lines: modbus.endpoints.map((ep) => ({
        id: ep.id,
        type: 'tcp' as const,
        host: '127.0.0.1',
        port: ep.port,
        devices: ep.devices.map((d) => ({ id: d.id, profile: 'vaisala-aqt530', unitId: d.unitId, pollIntervalMs: interval })),
      })),
      forwarding: { brokerUrl: 'mqtt://127.0.0.1:9' },
    };
    const resolved = resolve(baseConfig);
    const slips = new SlipRecorder();
    const sink = countingSink();
    const schedulers: LineScheduler[] = [];
    for (const line of resolved.lines) {
      const scheduler: LineScheduler = new LineScheduler({
        line,
        transport: createTransport(line.config),
        sink,
        logger: o.logger,
        onPoll: (device, outcome) => {
          const st = scheduler.stats().devices.find((d) => d.id === device);
          if (st) slips.record(st.lastSlipMs, outcome);
        },
      });
      schedulers.push(scheduler);
    }
    for (const sc of schedulers) sc.start();
    s.defer(async () => {
      for (const sc of schedulers) await sc.stop();
    });
    await sleep(1500); // connect, first polls

    const loop = monitorEventLoopDelay({ resolution: 10 });
    const rows: Row[] = [];
    slips.begin();
    loop.enable();
    await sleep(o.baselineMs ?? 5000);
    loop.disable();
    const base = slips.end();
    const polling = `${nLines * perLine} devices x ${interval} ms`;
    rows.push({ section, name: `poll slip max, polling only (baseline, ${((o.baselineMs ?? 5000) / 1000).toFixed(0)} s)`, value: base.max, unit: 'ms', note: `p99 ${fmt(base.p99)} ms; ${base.polls} polls, ${base.failed} failed; event-loop delay max ${fmt(loop.max / 1e6)} ms` });

    for (const concurrency of concurrencies) {
      const cfg = resolve({
        ...baseConfig,
        cameras: {
          probeIntervalMs: 86_400_000, // one round, started by probeAll(); no scheduled probe comes due
          concurrency,
          credentials: { default: { username: 'admin', password: 'bench-pass' } },
          devices: cams.cameras.map((c) => ({ id: c.id, host: '127.0.0.1', port: c.httpPort })),
        },
      });
      const prober = new CameraProber({ config: cfg.config.cameras, gatewayId: 'gw-bench', logger: o.logger, appendEvent: () => undefined });
      prober.start();
      const ps = s.child();
      ps.defer(() => prober.stop());
      try {
        const cpu = new CpuMeter(process.pid, o.ticksPerSecond);
        const simCpu = new CpuMeter(cameraSim.pid, o.ticksPerSecond);
        loop.reset();
        loop.enable();
        slips.begin();
        cpu.begin();
        simCpu.begin();
        const p0 = performance.now();
        await prober.probeAll();
        const seconds = (performance.now() - p0) / 1000;
        const during = slips.end();
        loop.disable();
        const st = prober.stats();
        const cpuPct = cpu.percent();
        const states = Object.entries(st.byState)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ');
        const tag = concurrency === concurrencies[0] ? `concurrency ${concurrency} (default)` : `concurrency ${concurrency}`;
        rows.push({ section, name: `probe ${nCameras} cameras, ${tag}`, value: seconds, unit: 's', note: `${(nCameras / seconds).toFixed(1)} cameras/s; ${states}; peak ${st.peakRunning} at once` });
        rows.push({ section, name: `poll slip max while probing, ${tag}`, value: during.max, unit: 'ms', note: `p99 ${fmt(during.p99)} ms; ${during.polls} polls (${polling}), ${during.failed} failed; event-loop delay max ${fmt(loop.max / 1e6)} ms, p99 ${fmt(loop.percentile(99) / 1e6)} ms` });
        rows.push({
          section,
          name: `gateway process CPU per camera probe, ${tag}`,
          value: cpuPct === undefined ? undefined : (cpuPct / 100) * seconds * 1000 / nCameras,
          unit: 'ms',
          note: `gateway ${fmt(cpuPct)} % of a core, simulator process ${fmt(simCpu.percent())} % over the round (JPEG decode in a worker thread counts here)`,
        });
      } finally {
        await ps.close();
      }
    }
    rows.push(await steadyState(s, o, baseConfig, cams, slips, loop, section, polling));
    rows.push({ section, name: `camera simulator start (${nCameras} cameras)`, value: simStartSeconds, unit: 's', note: `${sink.readings.toLocaleString('en-US')} readings polled in all` });
    return rows;
  } finally {
    await s.close();
  }
}

/**
 * The agent's normal regime: prober.start() spreads the cameras over the default 60 s probe
 * interval (one probe every 300 ms for 200 cameras); the worst slip over a window of it.
 */
async function steadyState(
  scope: Scope,
  o: CameraBenchOptions,
  baseConfig: GatewayConfigInput,
  cams: SimStarted,
  slips: SlipRecorder,
  loop: ReturnType<typeof monitorEventLoopDelay>,
  section: string,
  polling: string,
): Promise<Row> {
  const windowMs = o.steadyWindowMs ?? 10_000;
  const cfg = resolve({
    ...baseConfig,
    cameras: { credentials: { default: { username: 'admin', password: 'bench-pass' } }, devices: cams.cameras.map((c) => ({ id: c.id, host: '127.0.0.1', port: c.httpPort })) },
  });
  const c = cfg.config.cameras;
  const prober = new CameraProber({ config: c, gatewayId: 'gw-bench', logger: o.logger, appendEvent: () => undefined });
  const s = scope.child();
  try {
    loop.reset();
    loop.enable();
    slips.begin();
    prober.start();
    s.defer(() => prober.stop());
    await sleep(windowMs);
    const r = slips.end();
    loop.disable();
    return {
      section,
      name: `poll slip max, cameras probed on their schedule (${c.probeIntervalMs / 1000} s interval, ${windowMs / 1000} s window)`,
      value: r.max,
      unit: 'ms',
      note: `${prober.stats().probes} probes in the window (concurrency ${c.concurrency}); p99 ${fmt(r.p99)} ms; ${r.polls} polls (${polling}); event-loop delay max ${fmt(loop.max / 1e6)} ms`,
    };
  } finally {
    await s.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fmt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(1);
}
