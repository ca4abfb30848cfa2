import { cpus } from 'node:os';
/**
 * `npm run bench`: throughput and latency figures of the edge agent on this machine, printed as
 * a table (each target next to its figure, "ok" or "MISSED") and one JSON line at the end. It
 * measures and reports; it asserts nothing.
 *
 *   1. outbox append: readings/s committed to the SQLite outbox
 *   2. backlog drain: readings/s acknowledged by a broker in another process and deleted
 *   3. live: the agent as a child process at 500 points/s, end-to-end latency, RSS and CPU
 *  3b. the same while busy-looping processes keep every core busy, the agent at the unit's Nice=
 *      (`live-loaded`)
 *   4. the agent's own metrics during the live run (poll slip)
 *   5. registry enrollments/s over HTTP (`--only enroll`)
 *   6. a configuration to 1,000 gateways through Mosquitto with dynamic security (`config-delivery`)
 *   7. telemetry ingest into SQLite and PostgreSQL with dedup (`ingest`)
 *   8. one gateway probing 200 simulated cameras, and its poll slip meanwhile (`cameras`)
 *   9. rule evaluation cost per reading: 500 readings/s across 50 rules on simulated time (`rules`)
 *  10. a Firmata board line with 8 points at 1 s: agent CPU per reading, RSS, handshake, poll
 *      round trip, and the AVR emulator's speed (`firmata`); the agent process's RSS and CPU with
 *      50 rules and a board beside 500 points/s of Modbus (`firmata`, 10b)
 *  11. the agent at 5,000 readings/s through a broker outage: RSS and outbox file size before,
 *      during and after the drain (`outage`; `--outage-seconds`, default 60)
 *  12. the console's event stream: registry CPU at 500 points/s without and with 20 SSE clients
 *      on the gateway (`console`); 12b. the console in Chromium: first-load size and time, registry
 *      CPU with browser pages on a gateway at 500 points/s (`console`, BENCH_CONSOLE_PAGES,
 *      default 20; needs the built console and /usr/bin/chromium)
 *  15. the province load: N simulated gateways (own identities, lean MQTT 3.1.1 clients) through
 *      Mosquitto or the 3-node RabbitMQ cluster (`--province-broker rabbitmq`: one node killed -9
 *      and restarted mid-run), ingest workers on PostgreSQL; connect storm, steady telemetry, lost
 *      readings by sequence, config rollout (`province`, only when asked: `--only province
 *      --gateways N`, `--province-seconds`, `--province-interval` seconds between a gateway's
 *      messages, `--ingest-workers`, `--province-restart-after` seconds, `--province-jitter` seconds of the
 *      connect storm, `--province-clean-sessions` instead of the persistent sessions the registry composes for the cluster)
 *
 *  13. one device every second: the agent's CPU and wake-ups/s (`idle`)
 *  14. reconnect storm: 1,000 gateways with the agent's backoff lose aedes / Mosquitto (dynamic
 *      security) for 45 s; connects/s each broker absorbs, when the gateways got back (`storm`;
 *      `--storm-gateways`, `--storm-outage-seconds`)
 *
 * Sections: --only append,drain,mosquitto,live,live-loaded,enroll,config-delivery,ingest,cameras,rules,firmata,outage,console,idle,storm,province
 * `--baseline-agent <path/to/cityedge-agent.js>` runs another build beside this one (live, idle).
 * BENCH_AGENT_NODE_ARGS adds node flags to the agent's (its unit's); BENCH_AGENT_OUTPUT=<file>
 * keeps everything the agents write.
 * `node dist/bench.js --aedes-broker <port>`, `--bench-sim`, `--bench-fleet` and `--bench-firmata` are the child
 * processes the benchmark starts itself.
 */
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { benchBacklogDrain } from './backlog-drain.js';
import { BROKER_FLAG, runAedesBrokerChild } from './broker-child.js';
import { benchCameras } from './camera-probe.js';
import { buildPaths, findMosquitto, startAedesChild, startMosquitto } from './children.js';
import { benchConfigDelivery } from './config-delivery.js';
import { benchConsoleStream } from './console-stream.js';
import { benchConsole } from './console.js';
import { FLEET_FLAG, runFleetChild } from './fleet-child.js';
import { benchIdle } from './idle.js';
import { benchLive } from './live.js';
import { unitNice, unitNodeFlags } from './unit.js';
import { formatMachine, loadAverageNow, machineFacts } from './machine.js';
import { benchOutboxAppend } from './outbox-append.js';
import { benchOutageDrain } from './outage-drain.js';
import { clockTicksPerSecond } from './proc-stats.js';
import { benchEnroll } from './registry-enroll.js';
import { benchFirmataLine, FIRMATA_FLAG, runFirmataChild } from './firmata-line.js';
import { formatJson, formatTable, verdict, type Row } from './report.js';
import { Scope } from './scope.js';
import { runSimChild, SIM_FLAG } from './sim-child.js';
import { benchIngest } from './telemetry-ingest.js';
import { benchRules } from './rules-eval.js';
import { benchReconnectStorm } from './reconnect-storm.js';
import { runStormChild, STORM_FLAG } from './storm-child.js';
import { benchAgentWithRulesAndBoard } from './rules-agent.js';
import { benchProvince, PROVINCE_BROKERS, type ProvinceBroker } from './province-load.js';
import { PROVINCE_FLAG, runProvinceChild } from './province-child.js';

const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'window-seconds': { type: 'string', default: '30' },
      'warmup-seconds': { type: 'string', default: '5' },
      'no-mosquitto': { type: 'boolean', default: false },
      'outage-seconds': { type: 'string', default: '60' },
      'baseline-agent': { type: 'string' },
      'storm-gateways': { type: 'string', default: '1000' },
      'storm-outage-seconds': { type: 'string', default: '45' },
      only: { type: 'string' },
      gateways: { type: 'string', default: '1000' },
      'province-seconds': { type: 'string', default: '60' },
      'province-interval': { type: 'string', default: '30' },
      'ingest-workers': { type: 'string', default: '3' },
      'province-broker': { type: 'string', default: 'mosquitto' },
      'province-restart-after': { type: 'string', default: '30' },
      'province-clean-sessions': { type: 'boolean', default: false },
      'province-jitter': { type: 'string', default: '10' },
    },
  });
  const provinceBroker = values['province-broker'] as ProvinceBroker;
  if (!PROVINCE_BROKERS.includes(provinceBroker)) {
    process.stderr.write(`bench: --province-broker: expected ${PROVINCE_BROKERS.join(' or ')}, got "${values['province-broker']}"\n`);
    return 2;
  }
  const only = values.only?.split(',');
  const wants = (step: string) => !only || only.includes(step);
  const windowMs = Number(values['window-seconds']) * 1000;
  const warmupMs = Number(values['warmup-seconds']) * 1000;
  // The agent runs with the node flags of its systemd unit, so the figures are those of a gateway.
  const agentNodeArgs = [...unitNodeFlags(), ...(process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean)];

  const root = new Scope();
  process.on('exit', () => root.killAllSync());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: stopping child processes and removing temp dirs`);
    void root.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
  const ticks = clockTicksPerSecond();
  const machine = { ...machineFacts(), sqlite: sqliteVersion() };
  process.stdout.write(`cityedge benchmark\n${formatMachine(machine)}\n`);

  const rows: Row[] = [];
  const failures: string[] = [];
  const step = async (name: string, section: string, run: () => Promise<Row[]>) => {
    if (!wants(name) || interrupted) return;
    progress(`running ${section}`);
    const t0 = performance.now();
    try {
      rows.push(...(await run()));
    } catch (err) {
      const message = (err as Error).message;
      failures.push(`${name}: ${message}`);
      rows.push({ section, name: 'FAILED', value: undefined, unit: '', note: message.split('\n')[0] ?? '' });
      progress(`${name} failed: ${message}`);
    }
    progress(`${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  try {
    const paths = buildPaths();
    await step('append', '1. outbox append', () => benchOutboxAppend(root, logger));
    await step('drain', '2. backlog drain to aedes', async () => {
      const s = root.child();
      try {
        const broker = await startAedesChild(s, paths.bench);
        return await benchBacklogDrain(s, { logger, broker, ticksPerSecond: ticks, withTarget: true });
      } finally {
        await s.close();
      }
    });
    const mosquitto = values['no-mosquitto'] ? undefined : findMosquitto();
    if (mosquitto) {
      await step('mosquitto', '2b. backlog drain to a private mosquitto', async () => {
        const s = root.child();
        try {
          const broker = await startMosquitto(s, mosquitto);
          return await benchBacklogDrain(s, { logger, broker, ticksPerSecond: ticks, withTarget: false });
        } finally {
          await s.close();
        }
      });
    }
    // Another build of the agent (e.g. main's dist/cityedge-agent.js) measured beside this one.
    const agents = [{ label: values['baseline-agent'] ? 'this build' : '', script: paths.agent }, ...(values['baseline-agent'] ? [{ label: 'baseline', script: values['baseline-agent'] }] : [])];
    /** The live run for each build, each with a broker of its own; `loaded`: every core kept busy, the agent at the unit's Nice=. */
    const liveRuns = async (loaded: boolean): Promise<Row[]> => {
      const out: Row[] = [];
      for (const a of agents) {
        const s = root.child();
        try {
          const broker = await startAedesChild(s, paths.bench);
          const load = loaded ? { hogs: cpus().length, nice: unitNice() } : {};
          out.push(...(await benchLive(s, { logger, broker, agentScript: a.script, ticksPerSecond: ticks, windowMs, warmupMs, agentNodeArgs, label: a.label, ...load })));
        } finally {
          await s.close();
        }
      }
      return out;
    };
    await step('live', '3. live agent process', () => liveRuns(false));
    await step('live-loaded', '3b. live agent process, cores kept busy', () => liveRuns(true));
    await step('enroll', '5. registry enrollment', () => benchEnroll(root, { logger, ticksPerSecond: ticks }));
    await step('config-delivery', '6. config delivery through mosquitto', () =>
      values['no-mosquitto'] ? Promise.resolve([{ section: '6. config delivery through mosquitto', name: 'config delivery', value: undefined, unit: '', note: 'skipped: --no-mosquitto' }]) : benchConfigDelivery(root, { logger, benchScript: paths.bench, ticksPerSecond: ticks }),
    );
    await step('ingest', '7. telemetry ingest', () => benchIngest(root, { logger }));
    await step('cameras', '8. cameras', () => benchCameras(root, { logger, benchScript: paths.bench, ticksPerSecond: ticks }));
    await step('rules', '9. rules', () => benchRules(root, { logger }));
    await step('firmata', '10. Firmata board line', () => benchFirmataLine(root, { benchScript: paths.bench, windowMs, warmupMs }));
    await step('firmata', '10b. agent with rules and a Firmata board', () => benchAgentWithRulesAndBoard(root, { benchScript: paths.bench, agentScript: paths.agent, agentNodeArgs, ticksPerSecond: ticks, windowMs, warmupMs }));
    await step('idle', '13. nearly idle agent', async () => {
      const s = root.child();
      try {
        const broker = await startAedesChild(s, paths.bench);
        return await benchIdle(s, { logger, broker, ticksPerSecond: ticks, agents, agentNodeArgs, windowMs });
      } finally {
        await s.close();
      }
    });
    await step('storm', '14. reconnect storm', () =>
      benchReconnectStorm(root, { logger, benchScript: paths.bench, gateways: Number(values['storm-gateways']), outageMs: Number(values['storm-outage-seconds']) * 1000, withMosquitto: !values['no-mosquitto'] }),
    );
    await step('outage', '11. broker outage', () =>
      benchOutageDrain(root, { logger, benchScript: paths.bench, agentScript: paths.agent, agentNodeArgs, outageMs: Number(values['outage-seconds']) * 1000 }),
    );
    await step('console', '12. console event stream', async () => {
      const s = root.child();
      try {
        return await benchConsoleStream(s, { logger, windowMs });
      } finally {
        await s.close();
      }
    });
    await step('console', '12b. console in Chromium', () => benchConsole(root, { logger, ticksPerSecond: ticks, windowMs: Math.min(windowMs, 15_000) }));
    // Minutes long and machine-filling: only when asked for.
    if (only?.includes('province')) {
      await step('province', '15. province load', () =>
        benchProvince(root, {
          logger,
          benchScript: paths.bench,
          ticksPerSecond: ticks,
          gateways: Number(values.gateways),
          steadySec: Number(values['province-seconds']),
          intervalSec: Number(values['province-interval']),
          workers: Number(values['ingest-workers']),
          broker: provinceBroker,
          restartAfterSec: Number(values['province-restart-after']),
          cleanSessions: values['province-clean-sessions'],
          jitterSec: Number(values['province-jitter']),
        }),
      );
    }
  } catch (err) {
    failures.push((err as Error).message);
  } finally {
    await root.close();
  }
  if (interrupted) return 130;

  process.stdout.write(`${formatTable(rows)}\n\n`);
  const missed = rows.filter((r) => verdict(r) === 'MISSED');
  const targets = rows.filter((r) => r.target).length;
  const loadAtEnd = loadAverageNow();
  process.stdout.write(`load average at the end: ${loadAtEnd.join(' ')} (1/5/15 min; the figures assume an otherwise idle machine)\n`);
  process.stdout.write(`targets: ${targets - missed.length} of ${targets} ok${missed.length ? `; MISSED: ${missed.map((r) => r.name).join('; ')}` : ''}\n`);
  for (const f of failures) process.stdout.write(`error: ${f}\n`);
  process.stdout.write(`${formatJson(machine as unknown as Record<string, unknown>, rows, { failures, at: new Date().toISOString(), loadAverageAtEnd: loadAtEnd })}\n`);
  return failures.length > 0 ? 1 : 0;
}

function sqliteVersion(): string | undefined {
  try {
    const db = new Database(':memory:');
    const v = db.prepare('SELECT sqlite_version()').pluck().get() as string;
    db.close();
    return v;
  } catch {
    return undefined;
  }
}

if (process.argv[2] === BROKER_FLAG) {
  runAedesBrokerChild(Number(process.argv[3] ?? 0)).catch((err: unknown) => {
    process.stderr.write(`aedes broker child: ${(err as Error).message}\n`);
    process.exit(1);
  });
} else if (process.argv[2] === SIM_FLAG) {
  runSimChild();
} else if (process.argv[2] === FLEET_FLAG) {
  runFleetChild();
} else if (process.argv[2] === STORM_FLAG) {
  runStormChild();
} else if (process.argv[2] === PROVINCE_FLAG) {
  runProvinceChild();
} else if (process.argv[2] === FIRMATA_FLAG) {
  runFirmataChild();
} else {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
