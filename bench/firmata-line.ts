import { pino, type Logger } from 'pino';
import { resolveGatewayConfig, createCatalog, type GatewayEvent, type Reading } from '@cityedge/contract';
import { createBoardTransport } from '@cityedge/drivers';
import { FirmataLine } from '@cityedge/edge-agent';
import { JsonChild, reply, serveJsonChild } from './json-child.js';
import { percentile, rss, RssSampler } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';
import { SIM_FLAG, type SimStarted } from './sim-child.js';

export const FIRMATA_FLAG = '--bench-firmata';
const SECTION = '9. Firmata board line (8 points at 1 s, StandardFirmata in the AVR emulator over TCP)';

/** What the line child measured in its window. */
interface FirmataFigures {
  readings: number;
  bad: number;
  windowMs: number;
  cpuMs: number;
  rssBaseline: number;
  rssLibraries: number;
  rssEnd: number;
  handshakeMs: number | undefined;
  /** A second handshake once the board has been running (no boot in it). */
  rehandshakeMs: number | undefined;
  pollMs: { p50: number | undefined; p95: number | undefined; max: number | undefined };
}

/** The board: 4 contacts, a rain gauge, 2 analog inputs and a relay, as at a flood station. */
export const BOARD_SPEC = {
  firmataBoards: [{ id: 'uno', port: 0, digital: { D2: true, D3: false, D4: true, D5: true }, analog: { A0: 2.5, A1: 1.2 }, rainGauge: { pin: 'D6', periodMs: 3000 } }],
};

export const POINTS = [
  { name: 'float_low', pin: 'D2', mode: 'digital-in', pullUp: true, invert: true },
  { name: 'float_high', pin: 'D3', mode: 'digital-in', pullUp: true, invert: true },
  { name: 'door', pin: 'D4', mode: 'digital-in', pullUp: true },
  { name: 'power_ok', pin: 'D5', mode: 'digital-in' },
  { name: 'rain', pin: 'D6', mode: 'pulse-counter', pullUp: true, invert: true, scale: 0.2, unit: 'mm' },
  { name: 'light', pin: 'A0', mode: 'analog-in', scale: 0.1, unit: 'klx' },
  { name: 'battery', pin: 'A1', mode: 'analog-in', scale: 0.0147, unit: 'V' },
  { name: 'siren', pin: 'D7', mode: 'digital-out' },
];

/**
 * The child side of `bench.js --bench-firmata`: one FirmataLine, as the agent runs it, against a
 * board in another process; readings go to a counting sink (the outbox's own cost is section 1).
 * Request `{"run": {host, port, warmupMs, windowMs}}`, answer `{"figures": FirmataFigures}`.
 */
export function runFirmataChild(): void {
  let line: FirmataLine | undefined;
  serveJsonChild(
    async (m) => {
      const run = m.run as { host: string; port: number; warmupMs: number; windowMs: number } | undefined;
      if (!run) throw new Error('expected {"run": {...}}');
      const rssBaseline = rss(process.pid)?.total ?? NaN;
      // What a gateway with a board loads that one without does not (the transport loads them lazily).
      await Promise.all([import('johnny-five'), import('firmata-io')]);
      const rssLibraries = rss(process.pid)?.total ?? NaN;
      const r = resolveGatewayConfig(
        { gateway: { id: 'gw-bench' }, forwarding: { brokerUrl: 'mqtt://127.0.0.1:1' }, lines: [{ id: 'uno', type: 'firmata', host: run.host, port: run.port, handshakeTimeoutMs: 120_000, timeoutMs: 5000, devices: [{ id: 'station', points: POINTS }] }] },
        createCatalog([]),
      );
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      const cfg = r.value.firmataLines[0]!;
      let counting = false;
      let readings = 0;
      let bad = 0;
      const polls: number[] = [];
      const sink = {
        appendReadings(rs: Reading[]) {
          if (!counting) return;
          readings += rs.length;
          bad += rs.filter((x) => x.q !== 'good').length;
        },
        appendEvent(_e: GatewayEvent) {},
      };
      const logger: Logger = pino({ level: 'silent' });
      line = new FirmataLine({ line: cfg, transport: createBoardTransport(cfg.config, { logger }), sink, logger, onPoll: (_d, _o, ms) => counting && polls.push(ms) });
      line.start();
      const deadline = Date.now() + 120_000;
      while (!line.stats().connected) {
        if (Date.now() > deadline) throw new Error('the board did not connect within 120 s');
        await new Promise((res) => setTimeout(res, 100));
      }
      await new Promise((res) => setTimeout(res, run.warmupMs));
      counting = true;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((res) => setTimeout(res, run.windowMs));
      const used = process.cpuUsage(cpu0);
      const windowMs = performance.now() - t0;
      counting = false;
      const handshakeMs = line.stats().board?.handshakeMs;
      await line.stop();
      line = undefined;
      const again = createBoardTransport(cfg.config, { logger });
      await again.open();
      const rehandshakeMs = again.info?.handshakeMs;
      await again.close();
      polls.sort((a, b) => a - b);
      const figures: FirmataFigures = {
        readings,
        bad,
        windowMs,
        cpuMs: (used.user + used.system) / 1000,
        rssBaseline,
        rssLibraries,
        rssEnd: rss(process.pid)?.total ?? NaN,
        handshakeMs,
        rehandshakeMs,
        pollMs: { p50: percentile(polls, 50), p95: percentile(polls, 95), max: polls.at(-1) },
      };
      reply({ figures });
    },
    async () => {
      await line?.stop();
    },
  );
}

/** Starts the emulated board and the line in two processes and reports the line's cost. */
export async function benchFirmataLine(scope: Scope, opts: { benchScript: string; windowMs: number; warmupMs: number }): Promise<Row[]> {
  const s = scope.child();
  try {
    const sim = new JsonChild(s, opts.benchScript, SIM_FLAG);
    sim.send({ start: BOARD_SPEC });
    const started = await sim.take<SimStarted>('started', 30_000);
    const board = started.firmataBoards?.[0];
    if (!board) throw new Error('the simulator started no Firmata board');
    const child = new JsonChild(s, opts.benchScript, FIRMATA_FLAG);
    child.send({ run: { host: '127.0.0.1', port: board.port, warmupMs: opts.warmupMs, windowMs: opts.windowMs } });
    // Sampled from here, so the sampling costs the measured process nothing.
    const sampler = new RssSampler(child.pid, 250);
    sampler.start();
    const f = await child.take<FirmataFigures>('figures', 180_000 + opts.warmupMs + opts.windowMs);
    const rssMax = sampler.stop().max ?? f.rssEnd;
    sim.send({ boardStats: board.id });
    const speed = await sim.take<{ boardMs: number; runMs: number; speed: number }>('boardStats', 10_000);
    const mb = (b: number) => b / 1024 / 1024;
    const perSecond = f.readings / (f.windowMs / 1000);
    return [
      { section: SECTION, name: 'readings', value: perSecond, unit: 'readings/s', note: `${f.readings} in ${(f.windowMs / 1000).toFixed(0)} s, ${f.bad} bad` },
      { section: SECTION, name: 'agent CPU per reading', value: f.readings > 0 ? (f.cpuMs * 1000) / f.readings : undefined, unit: 'µs', note: 'the line alone: reports parsed, one round trip per poll, readings built (outbox excluded)' },
      { section: SECTION, name: 'agent CPU', value: (f.cpuMs / f.windowMs) * 100, unit: '% of a core' },
      { section: SECTION, name: 'RSS: johnny-five + firmata-io loaded', value: mb(f.rssLibraries - f.rssBaseline), unit: 'MiB', note: 'loaded on the first connection only' },
      { section: SECTION, name: 'RSS: the running line (max over the libraries loaded)', value: mb(rssMax - f.rssLibraries), unit: 'MiB', note: `process RSS ${mb(rssMax).toFixed(1)} MiB at most; GC makes this a rough figure` },
      { section: SECTION, name: 'handshake, first connection', value: f.handshakeMs, unit: 'ms', note: 'the board was powered up as this process started; a USB board that resets on open adds its boot (about 2 s)' },
      { section: SECTION, name: 'handshake, board running', value: f.rehandshakeMs, unit: 'ms', note: 'version, firmware name, capability and analog mapping queries' },
      { section: SECTION, name: 'poll round trip p50', value: f.pollMs.p50, unit: 'ms', note: `p95 ${f.pollMs.p95?.toFixed(1) ?? 'n/a'} ms, max ${f.pollMs.max?.toFixed(1) ?? 'n/a'} ms (a pin-state query and the readings)` },
      { section: SECTION, name: 'emulator speed', value: speed.speed, unit: 'x real time', note: `${(speed.boardMs / 1000).toFixed(1)} s of board time in ${(speed.runMs / 1000).toFixed(1)} s; the emulator burns a core of its own process` },
    ];
  } finally {
    await s.close();
  }
}
