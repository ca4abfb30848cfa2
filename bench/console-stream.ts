import { request } from 'node:http';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { encodeReading, encodeTelemetryMessage, topicFor, type Reading } from '@cityedge/contract';
import { startCentral, SYSTEM } from '@cityedge/device-registry';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

const SECTION = '12. console event stream: readings fan-out over SSE';
const POINTS_PER_SECOND = 500;
const MESSAGES_PER_SECOND = 5;
const DEVICES = 10;
const CLIENTS = 20;

/** An SSE client that counts readings events and bytes without parsing JSON (a browser's cost is not the registry's). */
function sink(url: string, cookie: string): Promise<{ stats: { bytes: number; readings: number }; close(): void }> {
  return new Promise((resolve, reject) => {
    const stats = { bytes: 0, readings: 0 };
    const req = request(url, { headers: { cookie: `cityedge_session=${cookie}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        stats.bytes += chunk.length;
        for (let i = chunk.indexOf('event: readings'); i >= 0; i = chunk.indexOf('event: readings', i + 1)) stats.readings++;
      });
      resolve({ stats, close: () => req.destroy() });
    });
    req.on('error', (err) => reject(err));
    req.end();
  });
}

/**
 * The registry (embedded broker, ingest into SQLite, HTTP) in this process with a gateway sending
 * 500 points/s (5 messages of 100 readings, 10 devices) for a window without stream clients,
 * then the same window with 20 SSE clients on that gateway. The figure is this process's CPU;
 * the clients only count bytes, so the difference is the registry's fan-out cost.
 */
export async function benchConsoleStream(scope: Scope, o: { logger: Logger; windowMs: number }): Promise<Row[]> {
  const dir = scope.tempDir('cityedge-bench-console-');
  const central = await startCentral({ dataDir: dir, logger: o.logger, http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 } });
  scope.defer(() => central.stop());
  const { services } = central.registry;
  const gw = 'gw-bench-console';
  const { enrollment } = await services.gateways.create({ id: gw }, SYSTEM);
  const identity = await services.enrollment.enroll({ code: enrollment.code }, { ...SYSTEM, registryUrl: central.url });
  const client: MqttClient = await mqtt.connectAsync(central.brokerUrl, { username: gw, password: identity.mqtt.password, clientId: gw, protocolVersion: 4, reconnectPeriod: 0 }, false);
  scope.defer(() => client.endAsync());
  await services.accounts.create({ username: 'bench', role: 'viewer', password: 'bench password 1' }, SYSTEM);
  const session = await services.accounts.signIn('bench', 'bench password 1', '127.0.0.1');

  const perMessage = POINTS_PER_SECOND / MESSAGES_PER_SECOND;
  let seq = 0;
  const topic = topicFor(gw, 'telemetry', identity.mqtt.topicPrefix);
  const send = async () => {
    const ts = Date.now();
    const readings: Reading[] = Array.from({ length: perMessage }, (_, i) => ({ dev: `dev-${i % DEVICES}`, pt: `p${Math.floor(i / DEVICES)}`, v: 20 + (i % 7) * 0.5, q: 'good', ts, u: 'degC' }));
    await client.publishAsync(topic, encodeTelemetryMessage(gw, ++seq, readings.map(encodeReading)), { qos: 1 });
  };
  const run = async (ms: number) => {
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    for (let k = 0; performance.now() - start < ms; k++) {
      await send();
      const next = start + ((k + 1) * 1000) / MESSAGES_PER_SECOND;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    const elapsed = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    return { cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsed) * 100, seconds: elapsed / 1000 };
  };

  await run(Math.min(5000, o.windowMs / 4));
  const quiet = await run(o.windowMs / 2);
  const sinks = await Promise.all(Array.from({ length: CLIENTS }, () => sink(`${central.url}/v1/stream?gateway=${gw}&topics=readings`, session.cookie)));
  scope.defer(() => sinks.forEach((s) => s.close()));
  const dropped0 = central.registry.app.streamStats.droppedReadings;
  const busy = await run(o.windowMs / 2);
  const events = sinks.map((s) => s.stats.readings);
  const bytes = sinks.reduce((n, s) => n + s.stats.bytes, 0);
  const dropped = central.registry.app.streamStats.droppedReadings - dropped0;
  const expected = Math.round(busy.seconds * MESSAGES_PER_SECOND) * DEVICES;
  const note = `${CLIENTS} clients; readings events per client ${Math.min(...events)}..${Math.max(...events)} (~${expected} sent); ${dropped} dropped`;
  return [
    { section: SECTION, name: `registry CPU at ${POINTS_PER_SECOND} points/s, no stream`, value: Math.round(quiet.cpuPercent * 10) / 10, unit: '% of a core', note: 'ingest into SQLite, broker, publisher' },
    { section: SECTION, name: `registry CPU at ${POINTS_PER_SECOND} points/s, ${CLIENTS} SSE clients on the gateway`, value: Math.round(busy.cpuPercent * 10) / 10, unit: '% of a core', note },
    { section: SECTION, name: 'fan-out cost of the 20 streams', value: Math.round((busy.cpuPercent - quiet.cpuPercent) * 10) / 10, unit: '% of a core' },
    { section: SECTION, name: 'stream bytes per client', value: Math.round(bytes / CLIENTS / busy.seconds / 1024), unit: 'KiB/s' },
  ];
}
