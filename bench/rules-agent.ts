import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfigInput, RulesConfigInput } from '@cityedge/contract';
import { freePort, spawnAgent, startAedesChild } from './children.js';
import { BOARD_SPEC, POINTS } from './firmata-line.js';
import { JsonChild } from './json-child.js';
import { LatencySubscriber } from './latency-subscriber.js';
import { hold } from './live.js';
import { CpuMeter, RssSampler } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';
import { SIM_FLAG, type SimStarted } from './sim-child.js';

const SECTION = '10b. agent process with 50 rules and a Firmata board (50 AQT530 x 10 points at 1 s = 500 points/s, the board in the AVR emulator over TCP)';
const ENDPOINTS = 5;
const PER_ENDPOINT = 10;

/**
 * 50 rules over the stations the agent polls: 10 VN_AQI stations (6 pollutants each), 20 flood
 * stations (a level sensor each; one sounds the board's siren at BD III) and 20 derived readings.
 */
function rulesOverStations(): RulesConfigInput {
  const aq = (i: number) => `aq-${i}`;
  return {
    aqi: Array.from({ length: 10 }, (_, i) => ({
      id: `air-${i}`,
      pollutants: Object.fromEntries(['pm2_5', 'pm10', 'o3', 'no2', 'so2', 'co'].map((p) => [p, { dev: aq(i), pt: p }])),
      epa: true,
      alarmAt: 'kem' as const,
    })),
    flood: Array.from({ length: 20 }, (_, i) => ({
      id: `station-${i}`,
      sensor: { dev: aq(10 + i), pt: 'pm10' },
      kind: 'level' as const,
      levels: { bd1: 60, bd2: 80, bd3: 100 },
      rateOfRise: { riseM: 20, windowMs: 3_600_000, armAboveM: 50 },
      ...(i === 0 && { outputs: { bd3: [{ dev: 'station-io', pt: 'siren' }] } }),
    })),
    derived: Array.from({ length: 20 }, (_, i) => ({ dev: aq(30 + i), pt: 'dew_point', expr: 'temperature - (100 - humidity) / 5', unit: 'C' })),
  };
}

/**
 * The real agent process with rules and a Firmata board beside its Modbus lines: what a flood
 * and air station gateway runs. Simulators (AQT530 stations and the emulated board) run in a
 * child process, the broker in another; reports the agent's RSS and CPU over the window.
 */
export async function benchAgentWithRulesAndBoard(scope: Scope, opts: { benchScript: string; agentScript: string; agentNodeArgs: readonly string[]; ticksPerSecond: number; windowMs: number; warmupMs: number }): Promise<Row[]> {
  const s = scope.child();
  try {
    const broker = await startAedesChild(s, opts.benchScript);
    const sim = new JsonChild(s, opts.benchScript, SIM_FLAG);
    sim.send({
      start: {
        endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({
          id: `ep-${e}`,
          transport: 'tcp',
          devices: Array.from({ length: PER_ENDPOINT }, (_, d) => ({ id: `aq-${e * PER_ENDPOINT + d}`, model: 'vaisala-aqt530', unitId: d + 1 })),
        })),
        ...BOARD_SPEC,
      },
    });
    const started = await sim.take<SimStarted>('started', 30_000);
    const board = started.firmataBoards?.[0];
    if (!board) throw new Error('the simulator started no Firmata board');
    const consumer = new LatencySubscriber();
    await consumer.start(broker.url);
    s.defer(() => consumer.stop());

    const dir = s.tempDir('cityedge-bench-rules-agent-');
    const config: GatewayConfigInput = {
      gateway: { id: 'gw-bench' },
      lines: [
        ...started.endpoints.map((ep, e) => ({
          id: `line-${e}`,
          type: 'tcp' as const,
          host: '127.0.0.1',
          port: ep.port,
          devices: ep.devices.map((d) => ({ id: d.id, profile: 'vaisala-aqt530', unitId: d.unitId, pollIntervalMs: 1000 })),
        })),
        { id: 'uno', type: 'firmata' as const, host: '127.0.0.1', port: board.port, handshakeTimeoutMs: 120_000, timeoutMs: 5000, devices: [{ id: 'station-io', points: POINTS as never }] },
      ],
      rules: rulesOverStations(),
      forwarding: { brokerUrl: broker.url },
      http: { enabled: true, host: '127.0.0.1', port: await freePort() },
    };
    const configPath = join(dir, 'agent.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const agent = spawnAgent(s, opts.agentScript, configPath, join(dir, 'state'), opts.agentNodeArgs);
    const deadline = Date.now() + 120_000;
    while (consumer.total === 0) {
      if (Date.now() > deadline) throw new Error(`no telemetry within 120 s:\n${agent.output()}`);
      await hold(100, agent, 'the start');
    }
    await hold(opts.warmupMs, agent, 'the warm-up');
    const rss = new RssSampler(agent.pid, 250);
    const cpu = new CpuMeter(agent.pid, opts.ticksPerSecond);
    rss.start();
    cpu.begin();
    consumer.begin();
    await hold(opts.windowMs, agent, 'the measurement window');
    const lat = consumer.end();
    const mem = rss.stop();
    const mb = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);
    return [
      { section: SECTION, name: 'readings received', value: lat.readings / lat.seconds, unit: 'readings/s', note: `the stations' 500/s, the board's 8/s and what the rules derive (dew points, stages, AQI hours); ${lat.bad} bad` },
      { section: SECTION, name: 'agent RSS max', value: mb(mem.max), unit: 'MB', note: `${mem.samples} samples of VmRSS; compare section 3 (the same stations, no rules, no board)` },
      { section: SECTION, name: 'agent RSS mean', value: mb(mem.mean), unit: 'MB' },
      { section: SECTION, name: 'agent CPU (utime+stime)', value: cpu.percent(), unit: '% of a core' },
      { section: SECTION, name: 'latency p99 (received - reading.ts)', value: lat.p99, unit: 'ms' },
    ];
  } finally {
    await s.close();
  }
}
