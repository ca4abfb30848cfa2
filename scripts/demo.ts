/**
 * `npm run demo`: the whole edge path on one machine. An embedded MQTT broker (aedes),
 * simulated field devices for every profile (Modbus TCP, RTU over TCP, and a real serial line
 * through a socat pseudo-terminal pair when socat is installed) and an agent configured for
 * them. Runs until Ctrl-C.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { formatProblems, type GatewayConfigInput, type TelemetryMessage } from '@cityedge/contract';
import { Agent, resolveDocument } from '@cityedge/edge-agent';
import { openPtyPair, socatAvailable, startSimulation, type PtyPair, type SimulationSpecInput } from '@cityedge/simulators';

const dir = resolve(process.env.DEMO_DIR ?? '.demo');
const GATEWAY = 'gw-demo-01';
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

async function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolvePort((server.address() as AddressInfo).port));
  });
}

/** The preferred port when it is free, else 0 (any free port). */
async function freeOr(preferred: number): Promise<number> {
  const probe = createServer();
  try {
    await listen(probe, preferred);
    await new Promise<void>((r) => probe.close(() => r()));
    return preferred;
  } catch {
    return 0;
  }
}

async function startBroker(preferred: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = createServer((s) => broker.handle(s));
  const port = await listen(server, await freeOr(preferred));
  return {
    port,
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, 'state'), { recursive: true, force: true });
  const broker = await startBroker(Number(process.env.DEMO_MQTT_PORT ?? 1884));

  let pty: PtyPair | undefined;
  if (socatAvailable()) pty = await openPtyPair(join(dir, 'tty-sim'), join(dir, 'tty-agent'));

  // 240x: a day (the river's flood cycle, the air's daily rhythm) passes in 6 minutes.
  const spec: SimulationSpecInput = {
    timeScale: 240,
    endpoints: [
      {
        id: 'river-station',
        transport: 'tcp',
        devices: [
          { id: 'river-radar', model: 'vegapuls-c21', unitId: 246, options: { wordOrder: 'CDAB', phase: 0.2 } },
          { id: 'well-pressure', model: 'pressure-level', unitId: 2, options: { phase: 0.2 } },
        ],
      },
      {
        id: 'aq-devserver',
        transport: 'rtu-over-tcp',
        devices: [
          { id: 'aq-station', model: 'vaisala-aqt530', unitId: 1 },
          { id: 'cabinet-climate', model: 'sht20', unitId: 2 },
        ],
      },
      {
        id: 'lighting-cabinet',
        transport: 'tcp',
        devices: [
          { id: 'dali-gw', model: 'intesis-dali', unitId: 1, options: { ballastsPerChannel: 4, initialLevel: 80, lampFailuresPerHour: 0.02 } },
          { id: 'cabinet-meter', model: 'eastron-sdm120', unitId: 2, options: { source: 'dali-gw' } },
        ],
      },
      ...(pty ? [{ id: 'rs485-bus', transport: 'serial' as const, path: pty.devicePath, devices: [{ id: 'bridge-radar', model: 'geolux-lx80' as const, unitId: 1, options: { phase: 0.2 } }] }] : []),
    ],
  };
  const sim = await startSimulation(spec, { logger: log });
  const ep = (id: string) => sim.endpoint(id);

  const config: GatewayConfigInput = {
    gateway: { id: GATEWAY, name: 'Demo gateway', site: 'demo' },
    lines: [
      {
        id: 'river-station',
        type: 'tcp',
        host: '127.0.0.1',
        port: ep('river-station').port!,
        devices: [
          { id: 'river-radar', profile: 'vegapuls-c21', unitId: 246, pollIntervalMs: 2000, points: { pv: { wordOrder: 'CDAB' } } },
          { id: 'well-pressure', profile: 'pressure-level', unitId: 2, pollIntervalMs: 2000 },
        ],
      },
      {
        id: 'aq-devserver',
        type: 'rtu-over-tcp',
        host: '127.0.0.1',
        port: ep('aq-devserver').port!,
        devices: [
          { id: 'aq-station', profile: 'vaisala-aqt530', unitId: 1, pollIntervalMs: 5000 },
          { id: 'cabinet-climate', profile: 'sht20', unitId: 2, pollIntervalMs: 10000 },
        ],
      },
      {
        id: 'lighting-cabinet',
        type: 'tcp',
        host: '127.0.0.1',
        port: ep('lighting-cabinet').port!,
        devices: [
          ...[0, 1, 2, 3].map((a) => ({ id: `lamp-${a}`, profile: 'intesis-dali-ballast', unitId: 1, addressOffset: 100 * a, pollIntervalMs: 5000 })),
          { id: 'cabinet-meter', profile: 'eastron-sdm120', unitId: 2, pollIntervalMs: 5000 },
        ],
      },
      ...(pty
        ? [{ id: 'rs485-bus', type: 'rtu' as const, path: pty.hostPath, baudRate: 9600, devices: [{ id: 'bridge-radar', profile: 'geolux-lx80', unitId: 1, pollIntervalMs: 2000 }] }]
        : []),
    ],
    forwarding: { brokerUrl: `mqtt://127.0.0.1:${broker.port}`, protocolVersion: 4 },
    buffer: { path: 'outbox.db' },
    http: { host: '127.0.0.1', port: await freeOr(Number(process.env.DEMO_HTTP_PORT ?? 9102)) },
  };
  const resolved = await resolveDocument(config, dir);
  if (!resolved.ok) throw new Error(formatProblems(resolved.problems, 'demo config'));
  const agent = new Agent({ resolved: resolved.value, stateDir: join(dir, 'state'), logger: log.child({ gateway: GATEWAY }) });
  await agent.start();

  const url = `mqtt://127.0.0.1:${broker.port}`;
  const httpPort = agent.httpPort;
  process.stdout.write(
    [
      '',
      'cityedge demo is running (Ctrl-C to stop)',
      `  broker      ${url}   (embedded aedes)`,
      `  gateway     ${GATEWAY}: ${resolved.value.lines.map((l) => `${l.config.id} (${l.config.type}, ${l.devices.length} devices)`).join(', ')}`,
      pty ? `  serial      ${pty.hostPath} <-> ${pty.devicePath} (socat pseudo-terminals)` : '  serial      skipped: install socat for a real RTU line over a pseudo-terminal',
      httpPort ? `  status      http://127.0.0.1:${httpPort}/healthz   http://127.0.0.1:${httpPort}/metrics` : '',
      '  watch       npx mqtt sub -h 127.0.0.1 -p ' + broker.port + " -t 'edge/v1/#' -v",
      '              mosquitto_sub -h 127.0.0.1 -p ' + broker.port + " -t 'edge/v1/#' -v",
      '',
    ].join('\n') + '\n',
  );

  // A live digest of what a central system receives.
  const latest = new Map<string, number | boolean | string | null>();
  const watcher = mqtt.connect(url, { protocolVersion: 4, clientId: 'demo-watcher' });
  watcher.on('error', () => undefined);
  watcher.on('connect', () => void watcher.subscribeAsync(`edge/v1/${GATEWAY}/telemetry`, { qos: 1 }).catch(() => undefined));
  let received = 0;
  watcher.on('message', (_t, payload) => {
    const msg = JSON.parse(payload.toString()) as TelemetryMessage;
    received += msg.readings.length;
    for (const r of msg.readings) latest.set(`${r.dev}.${r.pt}`, r.v);
  });
  const fmt = (k: string, digits = 2) => {
    const v = latest.get(k);
    return typeof v === 'number' ? v.toFixed(digits) : String(v ?? '-');
  };
  // Flood alarm levels of the Dong Ha station (Hieu river), Decision 05/2020/QD-TTg.
  const alarm = (stage: unknown) => (typeof stage !== 'number' ? '' : stage >= 4 ? ' BD III' : stage >= 3 ? ' BD II' : stage >= 2 ? ' BD I' : '');
  const digest = setInterval(() => {
    const simTime = new Date(sim.simNow() + 7 * 3600_000).toISOString().slice(11, 16);
    const ob = agent.outbox.stats();
    process.stdout.write(
      `[sim ${simTime} UTC+7] river ${fmt('river-radar.pv')} m${alarm(latest.get('river-radar.pv'))} | PM2.5 ${fmt('aq-station.pm2_5', 1)} ug/m3 | lamps ${[0, 1, 2, 3].map((a) => fmt(`lamp-${a}.level`, 0)).join('/')} % | meter ${fmt('cabinet-meter.active_power', 0)} W | received ${received} readings, backlog ${ob.backlogRows}\n`,
    );
  }, 5000);

  // Dim and restore the lamps now and then, through the agent's Modbus writes (FC06).
  let dim = false;
  const dimmer = setInterval(() => {
    dim = !dim;
    for (const a of [0, 1, 2, 3]) agent.write(`lamp-${a}`, 'arc_power', dim ? 30 : 100).catch((err: unknown) => log.warn({ err }, 'write failed'));
  }, 20_000);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping...\n');
    clearInterval(digest);
    clearInterval(dimmer);
    await watcher.endAsync(true).catch(() => undefined);
    await agent.stop();
    await sim.stop();
    await pty?.close();
    await broker.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
