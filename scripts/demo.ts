/**
 * `npm run demo`: the whole system on one machine.
 * - central: the registry (HTTP API, SQLite, signing key) with its embedded MQTT broker, which
 *   knows every gateway's identity and keeps it to its own topics, and the telemetry ingest;
 * - field: simulated devices for every profile (Modbus TCP, RTU over TCP, and a real serial line
 *   through socat pseudo-terminals when socat is installed) and simulated ONVIF cameras;
 * - a gateway that a "technician" creates in the registry, that enrolls itself with the one-time
 *   code and receives its signed configuration over the air, rules included: flood warning on
 *   the river (BD I/II/III, a siren and a beacon on a relay board), the VN_AQI of the air
 *   station, and the lamps on the astronomical clock; it serves /healthz and /metrics.
 * Simulated time runs 720 times faster (a day in 2 minutes) from 16:00 local time, and so does
 * the rules' clock: the river floods and falls, the AQI is computed hour by hour, the lamps go on
 * at sunset and dim through the night while one watches.
 * Runs until Ctrl-C (or SIGTERM, SIGHUP, or its output closing: `| head` ends it too); every
 * part, socat included, is stopped on the way out.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { pino, type Logger } from 'pino';
import type { AlarmTransition, TelemetryMessage } from '@cityedge/contract';
import { Agent, enroll, resolveManagedDocument } from '@cityedge/edge-agent';
import { formatTime, RegistryClient, startCentral } from '@cityedge/device-registry';
import { openPtyPair, socatAvailable, startCameraSimulation, startSimulation, type PtyPair } from '@cityedge/simulators';
import { GuardedOutput, Shutdown } from './demo-lifecycle.js';

const GATEWAY = 'gw-demo-01';
const DEFAULT_ADMIN_TOKEN = 'demo-admin-token-change-me-0001';
/** A read-only consumer account: it may read the channels gateways publish (per gateway or `+`), nothing else. */
const WATCHER = { username: '_demo-watcher', password: 'demo-watcher-password-0001', role: 'consumer' as const };
const CAMERA_PASSWORD = 'demo-camera-password';
const ZONE = 'Asia/Ho_Chi_Minh';
/** Simulated (and rules') ms per real ms: a day in 2 minutes, an hour in 5 s. */
const TIME_SCALE = 720;
const HOUR = 3_600_000;

/** 16:00 today in Dong Ha (UTC+7, no DST): the demo starts shortly before sunset. */
function demoStartTime(now = Date.now()): number {
  const local = new Date(now + 7 * HOUR);
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), 16 - 7);
}

/**
 * The rules the technician gives the gateway (composed into its configuration by the registry).
 * Times in them are on the rules' clock, which runs with the simulation: 5 simulated minutes are
 * 0.4 real seconds, so stale-sensor and read-back limits are set in simulated hours.
 */
const DEMO_RULES = {
  flood: [
    {
      id: 'dongha',
      name: 'Dong Ha (Hieu river)',
      sensor: { dev: 'river-radar', pt: 'pv' },
      kind: 'level',
      levels: { bd1: 2.0, bd2: 3.0, bd3: 4.0, ref: 'QD 05/2020/QD-TTg' },
      fault: { staleAfterMs: 6 * HOUR, frozenForMs: 0 },
      outputs: {
        bd1: [{ dev: 'siren-relays', pt: 'relay2' }],
        bd2: [{ dev: 'siren-relays', pt: 'relay2' }, { dev: 'siren-relays', pt: 'relay1' }],
        bd3: [{ dev: 'siren-relays', pt: 'relay2' }, { dev: 'siren-relays', pt: 'relay1' }],
      },
    },
  ],
  aqi: [
    {
      id: 'dongha-air',
      name: 'Dong Ha air station',
      pollutants: { pm2_5: { dev: 'aq-station', pt: 'pm2_5' }, pm10: { dev: 'aq-station', pt: 'pm10' }, o3: { dev: 'aq-station', pt: 'o3' }, no2: { dev: 'aq-station', pt: 'no2' }, so2: { dev: 'aq-station', pt: 'so2' }, co: { dev: 'aq-station', pt: 'co' } },
      epa: true,
      minSlotsPerHour: 1,
      alarmAt: 'kem',
    },
  ],
  lighting: [
    {
      id: 'le-duan',
      name: 'Le Duan street',
      site: { lat: 16.8163, lon: 107.1003, tz: ZONE },
      steps: [{ at: '22:00', level: 75 }, { at: '00:00', level: 40 }, { at: '04:30', level: 100 }],
      broadcast: [{ dev: 'dali-ch0', pt: 'broadcast_level' }],
      ballasts: ['lamp-0', 'lamp-1', 'lamp-2', 'lamp-3'],
      readBack: { windowMs: HOUR, tolerance: 3 },
      retryMs: HOUR,
    },
  ],
};

const USAGE = `usage: node dist/demo.js [-h | --help]        (npm run demo builds it first)

The whole cityedge system on this machine until Ctrl-C: the registry with its embedded MQTT
broker and telemetry ingest, simulated Modbus devices (a serial line too when socat is
installed) and ONVIF cameras, and a gateway that enrolls itself and is configured over the air.
Rules pushed from the registry act on them: flood levels, the air-quality index and the lamps
on the astronomical clock; simulated time (and the rules' clock) runs a day in 2 minutes.
It prints what to try, then a digest of what central systems receive every 5 s.

environment:
  DEMO_DIR             working directory, emptied at start                [.demo]
  DEMO_REGISTRY_PORT   the registry's HTTP API (0: any free port)         [8780, else any free port]
  DEMO_MQTT_PORT       the embedded MQTT broker                           [1884, else any free port]
  DEMO_HTTP_PORT       the gateway's /healthz and /metrics                [9102, else any free port]
  DEMO_ADMIN_TOKEN     the admin API token                                [${DEFAULT_ADMIN_TOKEN}]
  DEMO_ADMIN_PASSWORD  the password of the console account "admin"        [random, printed]
  LOG_LEVEL            log level of the parts (JSON lines on stderr)      [error]

exit status: 0 stopped (Ctrl-C, SIGTERM, SIGHUP or its output closed), 1 failed, 2 bad usage`;

/** The preferred port when it is free, else 0 (any free port); 0 stays 0 (the part reports what it bound). */
async function freeOr(preferred: number): Promise<number> {
  if (preferred === 0) return 0;
  const probe = createServer();
  return new Promise((res) => {
    probe.once('error', () => res(0));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => res((probe.address() as AddressInfo | null)?.port ?? preferred)));
  });
}

function portFrom(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError(`${name}: expected a port 0..65535, got "${v}"`);
  return Number(v);
}

class UsageError extends Error {}

async function runDemo(shutdown: Shutdown, out: GuardedOutput, log: Logger): Promise<void> {
  const dir = resolve(process.env.DEMO_DIR ?? '.demo');
  const ADMIN_TOKEN = process.env.DEMO_ADMIN_TOKEN ?? DEFAULT_ADMIN_TOKEN;
  const CONSOLE = { username: 'admin', password: process.env.DEMO_ADMIN_PASSWORD || randomBytes(9).toString('base64url') };
  const ports = { registry: portFrom('DEMO_REGISTRY_PORT', 8780), mqtt: portFrom('DEMO_MQTT_PORT', 1884), http: portFrom('DEMO_HTTP_PORT', 9102) };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const httpPort = await freeOr(ports.http);

  // Central: registry + embedded broker + ingest.
  const central = await startCentral({
    dataDir: join(dir, 'registry'),
    logger: log.child({ part: 'registry' }),
    http: { host: '127.0.0.1', port: await freeOr(ports.registry) },
    broker: { mode: 'embedded', host: '127.0.0.1', port: await freeOr(ports.mqtt), accounts: [WATCHER] },
    adminToken: ADMIN_TOKEN,
    adminAccount: CONSOLE,
    // Fleet-wide settings for this demo: a short health window, the status server, and the
    // cameras (with an inline password: a real deployment uses passwordFile on the gateway).
    documentDefaults: {
      ota: { healthWindowMs: 10_000 },
      http: { host: '127.0.0.1', port: httpPort },
    },
  });
  shutdown.add('registry', () => central.stop());

  // Field: Modbus devices and cameras.
  let pty: PtyPair | undefined;
  if (socatAvailable()) {
    const pair = await openPtyPair(join(dir, 'tty-sim'), join(dir, 'tty-agent'));
    pty = pair;
    shutdown.add('socat', () => pair.close());
  }
  // A day (the river's flood cycle, the air's daily rhythm, a night of lighting) in 2 minutes.
  const sim = await startSimulation(
    {
      timeScale: TIME_SCALE,
      startTime: new Date(demoStartTime()).toISOString(),
      endpoints: [
        {
          id: 'river-station',
          transport: 'tcp',
          devices: [
            { id: 'river-radar', model: 'vegapuls-c21', unitId: 246, options: { wordOrder: 'CDAB', phase: 0.2 } },
            { id: 'well-pressure', model: 'pressure-level', unitId: 2, options: { phase: 0.2 } },
            { id: 'siren-relays', model: 'relay-io', unitId: 3 },
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
    },
    { logger: log },
  );
  shutdown.add('simulators', () => sim.stop());
  const cams = await startCameraSimulation(
    {
      cameras: [
        { id: 'cam-bridge', name: 'Hieu bridge north', username: 'probe', password: CAMERA_PASSWORD, width: 320, height: 184, fps: 5 },
        { id: 'cam-market', name: 'Dong Ha market', username: 'probe', password: CAMERA_PASSWORD, width: 320, height: 184, fps: 5, fault: 'rtsp-down' },
        { id: 'cam-school', name: 'School gate', username: 'probe', password: 'rotated-by-someone', width: 320, height: 184, fps: 5 },
      ],
    },
    { logger: log },
  );
  shutdown.add('cameras', () => cams.stop());

  // The technician: a site, a gateway (one-time code), its lines and devices, then a configuration.
  const api = new RegistryClient({ baseUrl: central.url, token: ADMIN_TOKEN });
  await api.createSite({ id: 'dongha', name: 'Dong Ha, Quang Tri', timeZone: 'Asia/Ho_Chi_Minh', location: { lat: 16.82, lon: 107.1 } });
  const { enrollment } = await api.createGateway({ id: GATEWAY, siteId: 'dongha', name: 'Hieu river bridge cabinet', tags: ['flood', 'lighting'] });
  const port = (id: string) => sim.endpoint(id).port!;
  await api.putLine(GATEWAY, 'river-station', { type: 'tcp', host: '127.0.0.1', port: port('river-station') });
  await api.putLine(GATEWAY, 'aq-devserver', { type: 'rtu-over-tcp', host: '127.0.0.1', port: port('aq-devserver') });
  await api.putLine(GATEWAY, 'lighting-cabinet', { type: 'tcp', host: '127.0.0.1', port: port('lighting-cabinet') });
  if (pty) await api.putLine(GATEWAY, 'rs485-bus', { type: 'rtu', path: pty.hostPath, baudRate: 9600 });
  const devices: Array<[string, Parameters<RegistryClient['addDevice']>[1]]> = [
    ['river-station', { id: 'river-radar', lineId: 'river-station', profile: 'vegapuls-c21', unitId: 246, pollIntervalMs: 2000, points: { pv: { wordOrder: 'CDAB' } } }],
    ['river-station', { id: 'well-pressure', lineId: 'river-station', profile: 'pressure-level', unitId: 2, pollIntervalMs: 2000 }],
    ['river-station', { id: 'siren-relays', lineId: 'river-station', profile: 'relay-io-8', unitId: 3, pollIntervalMs: 2000 }],
    ['aq-devserver', { id: 'aq-station', lineId: 'aq-devserver', profile: 'vaisala-aqt530', unitId: 1, pollIntervalMs: 2000 }],
    ['aq-devserver', { id: 'cabinet-climate', lineId: 'aq-devserver', profile: 'sht20', unitId: 2, pollIntervalMs: 10000 }],
    ['lighting-cabinet', { id: 'dali-ch0', lineId: 'lighting-cabinet', profile: 'intesis-dali-channel', unitId: 1, addressOffset: 6800, pollIntervalMs: 5000 }],
    ...[0, 1, 2, 3].map((a): [string, Parameters<RegistryClient['addDevice']>[1]] => ['lighting-cabinet', { id: `lamp-${a}`, lineId: 'lighting-cabinet', profile: 'intesis-dali-ballast', unitId: 1, addressOffset: 100 * a, pollIntervalMs: 2000 }]),
    ['lighting-cabinet', { id: 'cabinet-meter', lineId: 'lighting-cabinet', profile: 'eastron-sdm120', unitId: 2, pollIntervalMs: 5000 }],
    ...(pty ? [['rs485-bus', { id: 'bridge-radar', lineId: 'rs485-bus', profile: 'geolux-lx80', unitId: 1, pollIntervalMs: 2000 }] as [string, Parameters<RegistryClient['addDevice']>[1]]] : []),
  ];
  for (const [, d] of devices) await api.addDevice(GATEWAY, d);
  await api.putRules(GATEWAY, DEMO_RULES);

  // The gateway: enrolls with the code, starts with no devices, waits for its configuration.
  const stateDir = join(dir, 'gateway');
  const identity = await enroll({ registryUrl: central.url, code: enrollment.code, stateDir });
  const withCameras = (doc: Record<string, unknown>) => ({
    ...doc,
    cameras: {
      probeIntervalMs: 15_000,
      credentials: { default: { username: 'probe', password: CAMERA_PASSWORD } },
      devices: cams.cameras.map((c) => ({ id: c.id, name: c.name, host: '127.0.0.1', port: c.httpPort })),
    },
  });
  const resolveDoc = (doc: Record<string, unknown>) => resolveManagedDocument(withCameras(doc), identity, stateDir);
  // The status server (/healthz, /metrics) starts with the agent: it boots with it.
  const boot = await resolveManagedDocument({ gateway: { id: GATEWAY }, lines: [], http: { host: '127.0.0.1', port: httpPort } }, identity, stateDir);
  if (!boot.ok) throw new Error('bootstrap configuration invalid');
  // The rules run on the simulation's clock: lamps follow the astronomical clock of the simulated day.
  const rulesClock = { anchorAgent: Date.now(), anchorRules: sim.simNow(), scale: sim.timeScale };
  const agent = new Agent({ resolved: boot.value, stateDir, logger: log.child({ gateway: GATEWAY }), managed: { identity, resolveDocument: resolveDoc }, rulesClock });
  await agent.start();
  shutdown.add('gateway', () => agent.stop());
  const pushed = await api.pushConfig(GATEWAY, 'demo: first configuration');

  const status = agent.httpPort === undefined ? undefined : `http://127.0.0.1:${agent.httpPort}`;
  const brokerPort = new URL(central.brokerUrl).port;
  out.write(
    [
      '',
      'cityedge demo is running (Ctrl-C to stop)',
      `  registry    ${central.url}   (OpenAPI: ${central.url}/openapi.json)   admin token: ${ADMIN_TOKEN}`,
      `  console     sign in as ${CONSOLE.username} with password ${CONSOLE.password} (POST /v1/session; a session cookie)`,
      `  broker      ${central.brokerUrl}   (embedded; gateways log in as themselves)`,
      `  gateway     ${GATEWAY} enrolled with a one-time code; configuration v${pushed.version} pushed over the air`,
      `  rules       flood warning (Dong Ha BD I/II/III 2/3/4 m), VN_AQI (alarm at kem), lamps on the astronomical clock`,
      `  time        simulated, ${TIME_SCALE}x from 16:00 ${ZONE} (a day in ${Math.round((24 * HOUR) / TIME_SCALE / 1000)} s); the rules' clock runs with it`,
      status ? `  status      ${status}/healthz and ${status}/metrics (the gateway's)` : `  status      the gateway's status server could not listen on port ${httpPort}`,
      pty ? `  serial      ${pty.hostPath} <-> ${pty.devicePath} (socat pseudo-terminals)` : '  serial      skipped: install socat for a real RTU line over a pseudo-terminal',
      `  cameras     ${cams.cameras.map((c) => c.id).join(', ')} (one with RTSP down, one with a rotated password)`,
      '',
      'try:',
      `  export EDGECTL_REGISTRY=${central.url} EDGECTL_TOKEN=${ADMIN_TOKEN}`,
      `  node dist/edgectl.js gateway show ${GATEWAY}`,
      `  node dist/edgectl.js config history ${GATEWAY}`,
      `  node dist/edgectl.js rules show ${GATEWAY}`,
      `  node dist/edgectl.js alarm list --gateway ${GATEWAY}`,
      `  node dist/edgectl.js gateway create gw-demo-02 --site dongha      # a code and a QR code for a second gateway`,
      // A read-only account may read what gateways publish, per channel ('#' would reach config and cmd: refused).
      `  npx mqtt sub -h 127.0.0.1 -p ${brokerPort} -u ${WATCHER.username} -P ${WATCHER.password} -i ${WATCHER.username}-cli -t 'edge/v1/+/telemetry' -t 'edge/v1/+/events' -t 'edge/v1/+/status' -v`,
      `  curl -s -H 'authorization: Bearer ${ADMIN_TOKEN}' '${central.url}/v1/gateways/${GATEWAY}/readings?device=river-radar&limit=3'`,
      ...(status ? [`  curl -s ${status}/metrics | grep '^cityedge_mqtt_acked'      # the gateway's Prometheus metrics`] : []),
      `  curl -s -H 'authorization: Bearer ${ADMIN_TOKEN}' ${central.url}/metrics | grep '^cityedge_registry_ingest'`,
      `  curl -s -H 'content-type: application/json' -d '{"username":"${CONSOLE.username}","password":"${CONSOLE.password}"}' ${central.url}/v1/session      # sign in as the console does`,
      '',
    ].join('\n') + '\n',
  );

  // A live digest of what a central system receives.
  const latest = new Map<string, number | boolean | string | null>();
  const watcher = mqtt.connect(central.brokerUrl, { protocolVersion: 4, clientId: `${WATCHER.username}-digest`, username: WATCHER.username, password: WATCHER.password });
  watcher.on('error', () => undefined);
  watcher.on('connect', () => void watcher.subscribeAsync([`edge/v1/${GATEWAY}/telemetry`, `edge/v1/${GATEWAY}/events`], { qos: 1 }).catch(() => undefined));
  shutdown.add('digest watcher', () => watcher.endAsync(true));
  let received = 0;
  const cameraStates = new Map<string, string>();
  /** Alarms the rules hold raised, by key, with their level. */
  const alarms = new Map<string, string>();
  watcher.on('message', (topic, payload) => {
    const msg = JSON.parse(payload.toString()) as TelemetryMessage & { events?: Array<{ type: string; dev?: string; alarm?: AlarmTransition }> };
    if (topic.endsWith('/events')) {
      for (const e of msg.events ?? []) {
        if (e.dev && /^camera\.(online|degraded|unauthorized|unreachable)$/.test(e.type)) cameraStates.set(e.dev, e.type.slice(7));
        if (e.alarm && /^(flood|aqi|lamp|sensor)\./.test(e.alarm.key)) {
          if (e.alarm.state === 'raised') alarms.set(e.alarm.key, e.alarm.level ?? 'raised');
          else alarms.delete(e.alarm.key);
        }
      }
      return;
    }
    received += msg.readings.length;
    for (const r of msg.readings) latest.set(`${r.dev}.${r.pt}`, r.v);
  });
  const fmt = (k: string, digits = 2) => {
    const v = latest.get(k);
    return typeof v === 'number' ? v.toFixed(digits) : String(v ?? '-');
  };
  // What the rules derive: the station's flood level (0 normal, 1..3 BD I..III), the hourly
  // VN_AQI with its category (and the US EPA AQI), the lighting group's level and mode.
  const FLOOD = ['normal', 'BD I', 'BD II', 'BD III'];
  const level = () => {
    const l = latest.get('dongha.alarm_level');
    return typeof l === 'number' ? (FLOOD[l] ?? String(l)) : '-';
  };
  const digest = setInterval(() => {
    const simTime = formatTime(sim.simNow(), ZONE).slice(11, 16);
    const cams = [...cameraStates].map(([id, s]) => `${id.replace('cam-', '')} ${s}`).join(', ') || '-';
    const raised = [...alarms].map(([k, l]) => `${k} ${l}`).join(', ') || 'none';
    out.write(
      `[sim ${simTime} ${ZONE}] config v${agent.configVersion} | river ${fmt('dongha.stage')} m ${level()} | VN_AQI ${fmt('dongha-air.vn_aqi', 0)} ${fmt('dongha-air.vn_aqi_category')} (EPA ${fmt('dongha-air.epa_aqi', 0)}) PM2.5 ${fmt('aq-station.pm2_5', 1)} | lamps ${fmt('le-duan.lamp_level', 0)} % ${fmt('le-duan.lamp_mode')} (${[0, 1, 2, 3].map((a) => fmt(`lamp-${a}.level`, 0)).join('/')}) | meter ${fmt('cabinet-meter.active_power', 0)} W | alarms ${raised} | cameras ${cams} | ${received} readings\n`,
    );
  }, 5000);
  shutdown.add('digest', async () => clearInterval(digest));
}

/** Resolves with the exit code; keeps running (never resolves) while the demo runs. */
function main(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      return Promise.resolve(0);
    }
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n${USAGE}\n`);
    return Promise.resolve(2);
  }
  // Logs go to stderr: stdout is the demo's own output, which a reader may close.
  const log = pino({ level: process.env.LOG_LEVEL ?? 'error' }, pino.destination(2));
  const shutdown = new Shutdown((message) => process.stderr.write(`demo: ${message}\n`));
  return new Promise<number>((resolveExit) => {
    const exit = (code: number, message?: string) => {
      if (shutdown.started) return;
      if (message) process.stderr.write(message + '\n');
      void shutdown.run().then(() => resolveExit(code));
    };
    // The reader went away (`| head`): stop everything, socat included, and end normally.
    const out = new GuardedOutput(process.stdout, () => exit(0));
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        out.write('\nstopping...\n');
        exit(0);
      });
    }
    process.on('uncaughtException', (err) => exit(1, `demo: unexpected failure: ${err.message}`));
    process.on('unhandledRejection', (err) => exit(1, `demo: unexpected failure: ${err instanceof Error ? err.message : String(err)}`));
    runDemo(shutdown, out, log).catch((err: unknown) => exit(err instanceof UsageError ? 2 : 1, `demo: ${err instanceof Error ? err.message : String(err)}`));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
