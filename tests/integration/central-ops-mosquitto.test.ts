import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signCommand, topicFor, type GatewayEvent } from '@cityedge/contract';
import { connectMosquitto, EventsIngest, MosquittoDynsecProcess, OpsApi, RegistryClient, startCentral, type Central } from '@cityedge/device-registry';
import { FakeGateway } from '../../device-registry/src/testing/fake-gateway.js';
import { eventually, quiet, tempDir, waitUntil } from '../support/fixtures.js';

const ADMIN = 'integration-ops-admin-token-0123';
const PG_ADMIN = process.env.REGISTRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NOT_AUTHORIZED = 0x87;

/** The PUBACK reason code of a publish: 0 when the broker took it. */
async function pubCode(g: FakeGateway, topic: string, payload: string): Promise<number> {
  try {
    await g.publish(topic, payload);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

/**
 * Commands, events and alarms on the central deployment's path: Mosquitto with dynamic security
 * (MQTT 5, shared subscriptions) and PostgreSQL. Fake gateways are real MQTT clients with the
 * identities the registry provisioned at enrollment. Fails, never skips, without Mosquitto or
 * PostgreSQL.
 */
describe('commands, events and alarms with Mosquitto and PostgreSQL', () => {
  const mosq = new MosquittoDynsecProcess();
  const database = `cityedge_test_${randomBytes(6).toString('hex')}`;
  let central: Central;
  let ops: OpsApi;
  let api: RegistryClient;
  let a: FakeGateway;
  let b: FakeGateway;
  let closeAdmin: () => Promise<void> = async () => undefined;
  let dataDir = '';

  const gateway = async (id: string): Promise<FakeGateway> => {
    const { enrollment } = await api.createGateway({ id, siteId: 'site-q' });
    const g = await FakeGateway.enroll(central.url, enrollment.code, { protocolVersion: 5 });
    await g.connect();
    await eventually(async () => ((await api.getGateway(id)).status.state === 'online' ? true : undefined), 10_000, `${id} online`);
    return g;
  };

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(PG_ADMIN);
    url.pathname = `/${database}`;
    await mosq.start();
    dataDir = tempDir('cityedge-central-ops-');
    const broker = await connectMosquitto({ url: mosq.url, admin: mosq.adminConnection().username, adminPassword: mosq.adminConnection().password, dataDir, logger: quiet });
    closeAdmin = broker.close;
    central = await startCentral({ dataDir, databaseUrl: url.toString(), logger: quiet, http: { host: '127.0.0.1', port: 0 }, broker, adminToken: ADMIN, commandSweepIntervalMs: 200 });
    api = new RegistryClient({ baseUrl: central.url, token: ADMIN });
    ops = new OpsApi(api);
    await api.createSite({ id: 'site-q', name: 'Site Q', timeZone: 'Asia/Ho_Chi_Minh' });
    a = await gateway('gw-qa');
    b = await gateway('gw-qb');
  }, 60_000);

  afterAll(async () => {
    await a?.disconnect();
    await b?.disconnect();
    await central?.stop();
    await closeAdmin();
    await mosq.stop();
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('delivers a signed command through Mosquitto and follows the answers into PostgreSQL', async () => {
    const sent = await ops.sendCommand('gw-qa', { name: 'line.scan', args: { line: 'rs485-1', to: 10 } });
    expect(sent).toMatchObject({ state: 'sent', gatewayStatus: 'online' });
    const got = await waitUntil(() => a.commands().some((c) => c.command.id === sent.id), 10_000, 'the command at gw-qa').then(() => a.commands().find((c) => c.command.id === sent.id)!);
    expect(got.args).toMatchObject({ line: 'rs485-1', from: 1, to: 10, deadlineMs: 120_000 });
    await a.answer({ id: sent.id, name: 'line.scan', state: 'accepted' });
    await a.answer({ id: sent.id, name: 'line.scan', state: 'progress', progress: { done: 5, total: 10 }, result: { found: [{ unitId: 3 }] } });
    await a.answer({ id: sent.id, name: 'line.scan', state: 'succeeded', result: { found: [{ unitId: 3 }], complete: true } });
    const done = await eventually(async () => {
      const c = await ops.getCommand(sent.id);
      return c.state === 'succeeded' ? c : undefined;
    }, 10_000, 'the scan to succeed');
    expect(done).toMatchObject({ progress: { done: 5, total: 10 }, result: { complete: true } });
  });

  it('refuses a gateway publishing a command to another gateway or to itself (0x87); the registry can publish to both', async () => {
    const forged = signCommand({ id: 'forged-cmd-0002', gatewayId: 'gw-qb', name: 'agent.restart', args: {}, actor: 'gw-qa', issuedAt: Date.now(), expiresAt: Date.now() + 600_000 }, generateSigningKey().privateKeyPem);
    expect(await pubCode(a, topicFor('gw-qb', 'cmd'), JSON.stringify(forged))).toBe(NOT_AUTHORIZED);
    expect(await pubCode(a, topicFor('gw-qa', 'cmd'), JSON.stringify({ ...forged, gatewayId: 'gw-qa' }))).toBe(NOT_AUTHORIZED);
    expect(await pubCode(a, `${topicFor('gw-qa', 'cmd')}/result`, '{}')).toBe(NOT_AUTHORIZED);
    const toB = await ops.sendCommand('gw-qb', { name: 'serial.list' });
    const toA = await ops.sendCommand('gw-qa', { name: 'serial.list' });
    await waitUntil(() => b.commands().some((c) => c.command.id === toB.id) && a.commands().some((c) => c.command.id === toA.id), 10_000, 'both registry commands');
    expect([...a.received, ...b.received].filter((c) => (c.raw as { id?: string }).id === 'forged-cmd-0002')).toEqual([]);
  });

  it('stores events once through a shared subscription split between two consumers, and the alarm ends where the last transition says', async () => {
    // A second registry consumer in the same shared-subscription group: Mosquitto splits the
    // events between the two, so transitions of one device are applied concurrently and out of order.
    const password = readFileSync(join(dataDir, 'mqtt-service.secret'), 'utf8').trim();
    const second = new EventsIngest({ connection: { url: mosq.url, username: '_registry', password, clientId: '_registry-events-2', protocolVersion: 5 }, sink: central.registry.services.events, logger: quiet, sharedGroup: 'registry-ingest' });
    await second.start();
    const T = Date.now();
    const events: GatewayEvent[][] = [];
    for (let i = 0; i < 30; i++) {
      const ts = T + i;
      events.push([i % 2 === 0 ? { type: 'device.offline', ts, severity: 'warning', dev: 'pump-q', message: 'pump-q stopped answering' } : { type: 'device.online', ts, severity: 'info', dev: 'pump-q', message: 'pump-q answers again' }]);
    }
    events.push([{ type: 'buffer.corrupt', ts: T + 40, severity: 'critical', message: 'set aside' }]);
    const seqs: number[] = [];
    for (const e of events) seqs.push(await b.send(...e));
    for (const seq of seqs.slice(0, 5)) await b.sendAt(seq, ...events[seqs.indexOf(seq)]!);
    await eventually(async () => ((await ops.listEvents('gw-qb', { limit: 1000 })).events.length === 31 ? true : undefined), 15_000, 'every event stored');
    expect(second.stats().stored).toBeGreaterThan(0);
    await second.stop();
    const { alarms } = await ops.listAlarms({ gateway: 'gw-qb', state: 'all' });
    const pump = alarms.filter((x) => x.key === 'device.offline/pump-q');
    // Out of order, raises may fold into fewer occurrences; every raise counts once, none stays active.
    expect(pump.every((x) => x.clearedAt !== null)).toBe(true);
    expect(pump.reduce((n, x) => n + 1 + x.reraiseCount, 0)).toBe(15);
    expect(alarms.find((x) => x.key === 'buffer.corrupt')).toMatchObject({ state: 'cleared', severity: 'critical' });
  });
});
