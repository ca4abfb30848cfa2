import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Channel, encodeReading, encodeStatus, encodeTelemetryMessage, generateSigningKey, signCommand, signConfig, topicFor, verifySignedConfig, type StatusMessage } from '@cityedge/contract';
import { PUBLISH_DENIED, SUBSCRIBE_DENIED } from '../../device-registry/src/broker/testing/acl-cases.js';
import { DynsecClient, FleetFollower, MemoryTelemetrySink, MosquittoDynsec, MosquittoDynsecProcess, MqttConfigPublisher, TelemetryIngest, type MqttConnection } from '@cityedge/device-registry';

/**
 * Mosquitto mode against the real Debian broker and its dynamic-security plugin: identities and
 * ACLs written by the registry through `$CONTROL/dynamic-security/v1`, checked with MQTT 5
 * clients (reason codes on SUBACK, PUBACK and CONNACK). Fails when mosquitto is missing.
 */
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const NOT_AUTHORIZED = 0x87;

interface Msg {
  topic: string;
  payload: string;
  retain: boolean;
}

class Peer {
  readonly got: Msg[] = [];
  closed = false;
  constructor(readonly c: MqttClient) {
    c.on('message', (topic, p, packet) => this.got.push({ topic, payload: p.toString(), retain: packet.retain }));
    c.on('close', () => (this.closed = true));
  }
  /** Granted QoS or the failure reason code of one subscription. */
  async sub(filter: string): Promise<number> {
    try {
      return (await this.c.subscribeAsync(filter, { qos: 1 }))[0]?.qos ?? -1;
    } catch (err) {
      const g = (err as { packet?: { granted?: number[] } }).packet?.granted?.[0];
      if (typeof g === 'number') return g;
      throw err;
    }
  }
  /** PUBACK reason code: 0 when accepted. */
  async pub(topic: string, payload: string, retain = false): Promise<number> {
    try {
      const ack = await this.c.publishAsync(topic, payload, { qos: 1, retain });
      return (ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw err;
    }
  }
  async waitFor(pred: (m: Msg) => boolean, what: string): Promise<Msg> {
    return until(() => this.got.find(pred), what);
  }
  end(): Promise<void> {
    return this.c.endAsync(true);
  }
}

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Mosquitto dynamic security driven by the registry', () => {
  const mosq = new MosquittoDynsecProcess();
  let admin: DynsecClient;
  let dynsec: MosquittoDynsec;
  let service: Peer;
  const peers: Peer[] = [];
  const svc = { username: '_registry', password: 'service-secret-1' };

  const login = async (username: string, password: string, clientId: string, extra: IClientOptions = {}): Promise<Peer> => {
    const p = new Peer(await mqtt.connectAsync(mosq.url, { username, password, clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...extra }, false));
    peers.push(p);
    return p;
  };
  /** CONNACK reason code of a login attempt, 0 when accepted. */
  const connack = async (username: string, password: string, clientId: string): Promise<number> => {
    try {
      const p = await login(username, password, clientId);
      await p.end();
      return 0;
    } catch (err) {
      return (err as { code: number }).code;
    }
  };
  const serviceConn = (clientId: string): MqttConnection => ({ url: mosq.url, ...svc, clientId, protocolVersion: 5 });

  beforeAll(async () => {
    await mosq.start();
    admin = new DynsecClient({ connection: mosq.adminConnection(), logger });
    await admin.start();
    dynsec = new MosquittoDynsec({ transport: admin, logger });
    await dynsec.ensureDefaults();
    await dynsec.ensureAccount(svc.username, svc.password, 'service');
    await dynsec.provisionGateway('gw-a', 'pass-a');
    await dynsec.provisionGateway('gw-b', 'pass-b');
    service = new Peer(await mqtt.connectAsync(mosq.url, { ...svc, clientId: '_registry-watch', protocolVersion: 5, reconnectPeriod: 0 }, false));
    expect(await service.sub('edge/v1/#')).toBe(1);
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.end()));
  });
  afterAll(async () => {
    await service?.end();
    await admin?.stop();
    await mosq.dispose();
  });

  it('lets a gateway publish telemetry, events, status and its config report under its own id; a subscriber gets them', async () => {
    const a = await login('gw-a', 'pass-a', 'gw-a');
    for (const ch of [Channel.telemetry, Channel.events, Channel.status, Channel.configReport]) {
      expect({ ch, rc: await a.pub(topicFor('gw-a', ch), `ok ${ch}`) }).toEqual({ ch, rc: 0 });
      await service.waitFor((m) => m.payload === `ok ${ch}`, ch);
    }
  });

  it('does not deliver what a gateway publishes to another gateway\'s topics, or to its own config and commands', async () => {
    const a = await login('gw-a', 'pass-a', 'gw-a');
    for (const t of [...PUBLISH_DENIED, '$SYS/forged']) {
      expect({ t, rc: await a.pub(t, 'forged', true) }).toEqual({ t, rc: NOT_AUTHORIZED });
    }
    await a.pub(topicFor('gw-a', 'telemetry'), 'after the forgeries');
    await service.waitFor((m) => m.payload === 'after the forgeries', 'the sentinel');
    expect(service.got.filter((m) => m.payload === 'forged')).toEqual([]);
  });

  it('refuses a gateway subscribing to #, to another gateway\'s config or commands, or to wildcards over gateways; its own config and the registry\'s commands to it arrive', async () => {
    const publisher = new MqttConfigPublisher({ connection: serviceConn('_registry-config-1'), logger });
    await publisher.start();
    const key = generateSigningKey();
    try {
      await publisher.publish('gw-b', signConfig({ gatewayId: 'gw-b', version: 1, config: { secret: 'b-only' } }, key.privateKeyPem));
      const a = await login('gw-a', 'pass-a', 'gw-a');
      for (const f of [...SUBSCRIBE_DENIED, '$share/g/edge/v1/+/telemetry', '$CONTROL/dynamic-security/#']) {
        expect({ f, rc: await a.sub(f) }).toEqual({ f, rc: NOT_AUTHORIZED });
      }
      expect(await a.sub(topicFor('gw-a', 'config'))).toBe(1);
      expect(await a.sub(topicFor('gw-a', 'cmd'))).toBe(1);
      await publisher.publish('gw-a', signConfig({ gatewayId: 'gw-a', version: 1, config: { mine: true } }, key.privateKeyPem));
      const got = await a.waitFor((m) => m.topic === topicFor('gw-a', 'config'), 'its own config');
      expect(verifySignedConfig(JSON.parse(got.payload), { gatewayId: 'gw-a', publicKeysPem: [key.publicKeyPem], minVersion: 0 }).config).toEqual({ mine: true });
      // The registry's identity publishes commands (QoS 1, not retained); only the addressed gateway gets them.
      await publisher.publishCommand('gw-b', signCommand({ id: 'cmd-for-b-0001', gatewayId: 'gw-b', name: 'serial.list', args: {}, actor: 'tech', issuedAt: 1, expiresAt: 2 }, key.privateKeyPem));
      await publisher.publishCommand('gw-a', signCommand({ id: 'cmd-for-a-0001', gatewayId: 'gw-a', name: 'serial.list', args: {}, actor: 'tech', issuedAt: 1, expiresAt: 2 }, key.privateKeyPem));
      const cmd = await a.waitFor((m) => m.topic === topicFor('gw-a', 'cmd'), 'its command');
      expect(JSON.parse(cmd.payload)).toMatchObject({ id: 'cmd-for-a-0001', gatewayId: 'gw-a' });
      expect(cmd.retain).toBe(false);
      expect(a.got.map((m) => m.topic)).toEqual([topicFor('gw-a', 'config'), topicFor('gw-a', 'cmd')]);
    } finally {
      await publisher.clear('gw-a');
      await publisher.clear('gw-b');
      await publisher.stop();
    }
  });

  it('delivers a retained config to a gateway that subscribes after the registry published it', async () => {
    const publisher = new MqttConfigPublisher({ connection: serviceConn('_registry-config-2'), logger });
    await publisher.start();
    const key = generateSigningKey();
    try {
      await publisher.publish('gw-b', signConfig({ gatewayId: 'gw-b', version: 7, config: {} }, key.privateKeyPem));
      const b = await login('gw-b', 'pass-b', 'gw-b');
      expect(await b.sub(topicFor('gw-b', 'config'))).toBe(1);
      const got = await b.waitFor((m) => m.retain, 'the retained config');
      expect(JSON.parse(got.payload)).toMatchObject({ gatewayId: 'gw-b', version: 7 });
    } finally {
      await publisher.clear('gw-b');
      await publisher.stop();
    }
  });

  it('refuses a wrong password, an unknown user and a client id other than the gateway id', async () => {
    expect(await connack('gw-a', 'wrong', 'gw-a')).toBeGreaterThanOrEqual(0x80);
    expect(await connack('gw-zzz', 'pass-a', 'gw-zzz')).toBeGreaterThanOrEqual(0x80);
    expect(await connack('gw-a', 'pass-a', 'gw-b')).toBeGreaterThanOrEqual(0x80);
    expect(await connack('gw-a', 'pass-a', 'gw-a')).toBe(0);
  });

  it('re-provisioning is idempotent and repairs a tampered role', async () => {
    await admin.run([{ command: 'addRoleACL', rolename: 'gateway-gw-a', acltype: 'subscribePattern', topic: '#', allow: true, priority: 9 }]);
    const before = await login('gw-a', 'pass-a', 'gw-a');
    expect(await before.sub('#')).toBe(1);
    await before.end();
    await dynsec.provisionGateway('gw-a', 'pass-a');
    await dynsec.provisionGateway('gw-a', 'pass-a');
    const a = await login('gw-a', 'pass-a', 'gw-a');
    expect(await a.sub('#')).toBe(NOT_AUTHORIZED);
  });

  it('a new password (re-enrollment) drops the live session and the old password stops working', async () => {
    const a = await login('gw-a', 'pass-a', 'gw-a');
    await dynsec.setGatewayPassword('gw-a', 'pass-a-2');
    await until(() => a.closed, 'the old session to be dropped');
    expect(await connack('gw-a', 'pass-a', 'gw-a')).toBeGreaterThanOrEqual(0x80);
    expect(await connack('gw-a', 'pass-a-2', 'gw-a')).toBe(0);
    await dynsec.setGatewayPassword('gw-a', 'pass-a');
  });

  it('shares the telemetry stream between two ingest consumers, storing each (gw, seq) once', async () => {
    const sink = new MemoryTelemetrySink();
    const ingests = [1, 2].map((n) => new TelemetryIngest({ connection: { ...serviceConn(`_registry-ingest-${n}`), clientId: `_registry-ingest-${n}` }, sink, logger, sharedGroup: 'ingest' }));
    await Promise.all(ingests.map((i) => i.start()));
    try {
      const a = await login('gw-a', 'pass-a', 'gw-a');
      const reading = (i: number) => encodeReading({ dev: 'th-1', pt: 'temperature', ts: 1_700_000_000_000 + i, v: i, q: 'good' });
      for (let seq = 1; seq <= 60; seq++) await a.pub(topicFor('gw-a', 'telemetry'), encodeTelemetryMessage('gw-a', seq, [reading(seq)]));
      for (const seq of [5, 17, 33]) await a.pub(topicFor('gw-a', 'telemetry'), encodeTelemetryMessage('gw-a', seq, [reading(seq)]));
      await a.pub(topicFor('gw-a', 'telemetry'), 'not json');
      await until(() => ingests.reduce((n, i) => n + i.stats().received, 0) === 64, 'every message at one consumer');
      const stats = ingests.map((i) => i.stats());
      expect(stats.every((s) => s.received > 0)).toBe(true);
      expect(stats.reduce((n, s) => n + s.stored, 0)).toBe(60);
      expect(stats.reduce((n, s) => n + s.duplicates, 0)).toBe(3);
      expect(stats.reduce((n, s) => n + s.malformed, 0)).toBe(1);
      expect(sink.batches.size).toBe(60);
      expect(sink.readings('gw-a').map((r) => r.v).sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    } finally {
      await Promise.all(ingests.map((i) => i.stop()));
    }
  });

  it('follows gateway status through the service account', async () => {
    const seen: Array<[string, StatusMessage]> = [];
    const follower = new FleetFollower({ connection: serviceConn('_registry-fleet'), listener: { onStatus: (gw, s) => void seen.push([gw, s]), onReport: () => undefined }, logger });
    await follower.start();
    try {
      const b = await login('gw-b', 'pass-b', 'gw-b');
      await b.pub(topicFor('gw-b', 'status'), encodeStatus({ v: 1, gw: 'gw-b', state: 'online', ts: Date.now() }));
      await until(() => seen.find(([gw, s]) => gw === 'gw-b' && s.state === 'online'), 'the status');
    } finally {
      await follower.stop();
    }
  });

  it('a consumer account reads gateway channels, shared or not, and nothing else', async () => {
    await dynsec.ensureAccount('_dashboard', 'dash-secret', 'consumer');
    const d = await login('_dashboard', 'dash-secret', '_dashboard-1');
    expect(await d.sub('edge/v1/+/telemetry')).toBe(1);
    expect(await d.sub('$share/dash/edge/v1/+/events')).toBe(1);
    expect(await d.sub('#')).toBe(NOT_AUTHORIZED);
    expect(await d.sub('edge/v1/+/config')).toBe(NOT_AUTHORIZED);
    expect(await d.pub(topicFor('gw-a', 'telemetry'), 'from the dashboard')).toBe(NOT_AUTHORIZED);
  });

  it('after deprovisioning, the gateway is disconnected and cannot log in again', async () => {
    const b = await login('gw-b', 'pass-b', 'gw-b');
    await dynsec.deprovisionGateway('gw-b');
    await until(() => b.closed, 'the session to be dropped');
    expect(await connack('gw-b', 'pass-b', 'gw-b')).toBeGreaterThanOrEqual(0x80);
    await dynsec.deprovisionGateway('gw-b');
    const [role] = await admin.run([{ command: 'getRole', rolename: 'gateway-gw-b' }]);
    expect(role?.error).toBe('Role not found');
  });
});
