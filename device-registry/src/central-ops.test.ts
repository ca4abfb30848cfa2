import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signCommand, topicFor, type CommandResult, type GatewayEvent } from '@cityedge/contract';
import { quiet, waitUntil } from './broker/testing/mqtt-test-kit.js';
import { startCentral, type Central } from './central.js';
import { main } from './cli/main.js';
import type { CliIo } from './cli/output.js';
import { SYSTEM } from './service/context.js';
import { FakeGateway } from './testing/fake-gateway.js';

/**
 * Commands, events and alarms at central over real sockets: the registry with its embedded broker
 * and SQLite, and fake gateways that are real MQTT clients with the credentials they enrolled for
 * (they verify commands with the registry's public key and answer with command.* events under
 * their seq, as the agent does). edgectl runs in process against the registry's HTTP port.
 */
const ADMIN = 'ops-admin-token-0123456789abcdef';
const T = Date.now();

interface Json {
  status: number;
  body: any;
}

let central: Central;
let dir: string;
let tech: string;
let viewer: string;
let gw: FakeGateway;
let gw2: FakeGateway;

async function api(method: string, path: string, body?: unknown, token = tech): Promise<Json> {
  const res = await fetch(`${central.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function gatewayOnline(id: string, state: 'online' | 'offline' = 'online'): Promise<void> {
  await eventually(async () => (await api('GET', `/v1/gateways/${id}`)).body?.status?.state === state, `${id} ${state}`);
}

async function enrolled(id: string): Promise<FakeGateway> {
  const created = await api('POST', '/v1/gateways', { id, siteId: 'dongha' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const g = await FakeGateway.enroll(central.url, created.body.enrollment.code);
  await g.connect();
  await gatewayOnline(id);
  return g;
}

function edgectl(argv: string[], token = tech): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) }, env: { EDGECTL_TOKEN: token } };
  return main(['--registry', central.url, ...argv], io).then((code) => ({ code, ...out }));
}

const offline = (dev: string, ts: number): GatewayEvent => ({ type: 'device.offline', ts, severity: 'warning', dev, message: `${dev} stopped answering`, data: { failures: 3, error: 'EDGE_MODBUS_TIMEOUT' } });
const online = (dev: string, ts: number): GatewayEvent => ({ type: 'device.online', ts, severity: 'info', dev, message: `${dev} answers again` });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cityedge-central-ops-'));
  central = await startCentral({ dataDir: dir, logger: quiet, http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, adminToken: ADMIN, commandSweepIntervalMs: 100 });
  const tokens = central.registry.services.tokens;
  tech = (await tokens.create({ name: 'tech-lan', role: 'technician' }, SYSTEM)).token;
  viewer = (await tokens.create({ name: 'ops-desk', role: 'viewer' }, SYSTEM)).token;
  expect((await api('POST', '/v1/sites', { id: 'dongha', name: 'Dong Ha', timeZone: 'Asia/Ho_Chi_Minh' })).status).toBe(201);
  gw = await enrolled('gw-ops-1');
  gw2 = await enrolled('gw-ops-2');
});

afterAll(async () => {
  await gw?.disconnect();
  await gw2?.disconnect();
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('commands at central over MQTT', () => {
  it("reaches the gateway signed by the registry (id, actor, expiry); the gateway's answers come back as events and the API follows them", async () => {
    const res = await api('POST', '/v1/gateways/gw-ops-1/commands', { name: 'point.write', args: { dev: 'lamp-1', pt: 'level', value: 40 } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ state: 'sent', gatewayStatus: 'online', warning: null, actor: 'tech-lan' });
    const got = await waitUntil(() => gw.received.find((c) => (c.raw as { id?: string }).id === res.body.id), 'the command at the gateway');
    expect(got.verified).toMatchObject({ ok: true, command: { gatewayId: 'gw-ops-1', name: 'point.write', actor: 'tech-lan', expiresAt: res.body.expiresAt }, args: { dev: 'lamp-1', pt: 'level', value: 40, confirm: true } });
    await gw.answer({ id: res.body.id, name: 'point.write', state: 'accepted' });
    await gw.answer({ id: res.body.id, name: 'point.write', state: 'succeeded', result: { written: 40, readBack: 40 } });
    const done = await eventually(async () => {
      const c = await api('GET', `/v1/commands/${res.body.id}`, undefined, viewer);
      return c.body.state === 'succeeded' && c.body;
    }, 'the command to succeed');
    expect(done).toMatchObject({ result: { written: 40, readBack: 40 }, publishCount: 1 });
    const events = await api('GET', '/v1/gateways/gw-ops-1/events?type=command.*', undefined, viewer);
    expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(['command.succeeded', 'command.accepted']);
  });

  it("cannot be published by a gateway, to another gateway's cmd topic or its own; the registry's can", async () => {
    const forged = signCommand({ id: 'forged-cmd-0001', gatewayId: 'gw-ops-2', name: 'agent.restart', args: {}, actor: 'gw-ops-1', issuedAt: T, expiresAt: T + 600_000 }, generateSigningKey().privateKeyPem);
    for (const topic of [topicFor('gw-ops-2', 'cmd'), topicFor('gw-ops-1', 'cmd')]) {
      const attacker = new FakeGateway(gw.identity);
      await attacker.connect();
      attacker.attempt(topic, JSON.stringify({ ...forged, gatewayId: topic.includes('gw-ops-2') ? 'gw-ops-2' : 'gw-ops-1' }));
      await waitUntil(() => attacker.closed, 'the broker to drop the publishing gateway');
    }
    // the real gateway-1 session was taken over by the attacker's (same client id): bring it back
    await gw.connect();
    const res = await api('POST', '/v1/gateways/gw-ops-2/commands', { name: 'serial.list' });
    await waitUntil(() => gw2.received.some((c) => (c.raw as { id?: string }).id === res.body.id), 'the registry command at gateway 2');
    expect(gw2.received.filter((c) => (c.raw as { id?: string }).id === 'forged-cmd-0001')).toEqual([]);
    expect(gw.received.filter((c) => (c.raw as { id?: string }).id === 'forged-cmd-0001')).toEqual([]);
    const denied = await api('GET', '/v1/audit?action=mqtt.publish.denied', undefined, viewer);
    expect(denied.body.entries.map((e: { details: { topic: string } }) => e.details.topic)).toEqual(expect.arrayContaining([topicFor('gw-ops-2', 'cmd'), topicFor('gw-ops-1', 'cmd')]));
  });

  it('is published again when the gateway comes back online, and expires (swept, audited) when nobody answers', async () => {
    await gw2.disconnect();
    await gatewayOnline('gw-ops-2', 'offline');
    const res = await api('POST', '/v1/gateways/gw-ops-2/commands', { name: 'device.read', args: { dev: 'th-1' } });
    expect(res.body).toMatchObject({ state: 'sent', gatewayStatus: 'offline', warning: expect.stringMatching(/is offline .*sent again when it comes back online/) });
    const short = await api('POST', '/v1/gateways/gw-ops-2/commands', { name: 'serial.list', ttlMs: 1000 });
    await eventually(async () => {
      const audit = await api('GET', `/v1/audit?targetType=command&targetId=${short.body.id}&action=command.expire`, undefined, viewer);
      return audit.body.entries.length === 1;
    }, 'the sweeper to expire the short command');
    await gw2.connect();
    const got = await waitUntil(() => gw2.received.find((c) => (c.raw as { id?: string }).id === res.body.id), 'the command published again on reconnect');
    expect(got.verified.ok).toBe(true);
    expect(gw2.received.some((c) => (c.raw as { id?: string }).id === short.body.id)).toBe(false);
    await gw2.answer({ id: res.body.id, name: 'device.read', state: 'succeeded', result: { readings: [] } });
    await eventually(async () => (await api('GET', `/v1/commands/${res.body.id}`)).body.state === 'succeeded', 'the answer');
    expect((await api('GET', `/v1/commands/${res.body.id}`)).body.publishCount).toBe(2);
  });
});

describe('events and alarms at central over MQTT', () => {
  it('stores device.offline once although it arrives twice, raises an alarm that can be acknowledged, and clears it when the device returns', async () => {
    const seq = await gw.send(offline('pump-1', T));
    await gw.sendAt(seq, offline('pump-1', T)); // a resend after a lost PUBACK: same seq, same content
    await gw.send({ type: 'buffer.corrupt', ts: T + 1, severity: 'critical', message: 'outbox failed its integrity check; set aside' });
    const alarm = await eventually(async () => (await api('GET', '/v1/alarms?gateway=gw-ops-1', undefined, viewer)).body.alarms.find((a: { key: string }) => a.key === 'device.offline/pump-1'), 'the alarm');
    expect(alarm).toMatchObject({ state: 'raised', reraiseCount: 0, severity: 'warning', siteId: 'dongha' });
    const events = await api('GET', '/v1/gateways/gw-ops-1/events?type=device.offline', undefined, viewer);
    expect(events.body.events).toHaveLength(1);
    await eventually(async () => (await api('GET', '/v1/gateways/gw-ops-1/events?type=buffer.corrupt', undefined, viewer)).body.events.length === 1, 'buffer.corrupt stored');
    expect((await api('POST', `/v1/alarms/${alarm.id}/ack`, {}, viewer)).status).toBe(403);
    expect((await api('POST', `/v1/alarms/${alarm.id}/ack`, { note: 'on it' })).body).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'tech-lan' });
    await gw.send(online('pump-1', T + 60_000));
    const closed = await eventually(async () => {
      const a = await api('GET', `/v1/alarms/${alarm.id}`, undefined, viewer);
      return a.body.state === 'closed' && a.body;
    }, 'the alarm to close');
    expect(closed.history.map((h: { action: string }) => h.action)).toEqual(['raised', 'acknowledged', 'cleared']);
  });
});

describe('edgectl cmd, alarm and events', () => {
  const fast = ['--interval', '50'];

  it('cmd write --watch prints the progress and the result and exits 0 when the gateway succeeds', async () => {
    gw.responder = ({ raw }) => {
      const c = raw as { id: string; name: string };
      return [
        { id: c.id, name: c.name, state: 'accepted' },
        { id: c.id, name: c.name, state: 'succeeded', result: { written: 25, readBack: 25 } },
      ];
    };
    try {
      const r = await edgectl(['cmd', 'write', 'gw-ops-1', 'lamp-2', 'level', '25', '--watch', ...fast]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/gw-ops-1: point\.write \S+ sent/);
      expect(r.stdout).toMatch(/gw-ops-1 point\.write succeeded/);
      expect(r.stdout).toContain('"readBack": 25');
      const sent = gw.commands().at(-1)!;
      expect(sent.args).toEqual({ dev: 'lamp-2', pt: 'level', value: 25, confirm: true });
    } finally {
      gw.responder = undefined;
    }
  });

  it('cmd scan --watch shows progress and exits 1 naming the error when the gateway fails it', async () => {
    gw.responder = ({ raw }) => {
      const c = raw as { id: string; name: string };
      return [
        { id: c.id, name: c.name, state: 'accepted' },
        { id: c.id, name: c.name, state: 'progress', progress: { done: 1, total: 4, message: 'unit 1 at 9600' }, result: { found: [{ unitId: 1, baudRate: 9600 }] } },
        { id: c.id, name: c.name, state: 'failed', error: { code: 'EDGE_CMD_FAILED', message: 'serial port closed' } },
      ] satisfies CommandResult[];
    };
    try {
      const r = await edgectl(['cmd', 'scan', 'gw-ops-1', 'rs485-1', '--from', '1', '--to', '2', '--baud', '9600,19200', '--deadline', '30', '--watch', ...fast]);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toMatch(/failed EDGE_CMD_FAILED: serial port closed/);
      expect(gw.commands().at(-1)!.args).toMatchObject({ line: 'rs485-1', from: 1, to: 2, baudRates: [9600, 19200], deadlineMs: 30_000 });
      const show = await edgectl(['cmd', 'show', gw.commands().at(-1)!.command.id]);
      expect(show.stdout).toMatch(/progress: +1\/4 unit 1 at 9600/);
      expect(show.stdout).toContain('"unitId": 1');
    } finally {
      gw.responder = undefined;
    }
  });

  it('exits 1 for a refused or expired command, 3 when the watch runs out of time, 2 for bad usage', async () => {
    gw.responder = ({ raw }) => [{ id: (raw as { id: string }).id, name: 'logs.tail', state: 'refused', error: { code: 'EDGE_CMD_BAD_ARGS', message: 'args.lines: too many' } }];
    try {
      const refused = await edgectl(['cmd', 'logs', 'gw-ops-1', '--lines', '5', '--watch', ...fast]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/refused EDGE_CMD_BAD_ARGS/);
    } finally {
      gw.responder = undefined;
    }
    const expired = await edgectl(['cmd', 'ports', 'gw-ops-1', '--ttl', '1', '--watch', ...fast]);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/expired without an answer from the gateway/);
    const timeout = await edgectl(['cmd', 'restart', 'gw-ops-1', '--watch', '--timeout', '1', ...fast]);
    expect(timeout.code).toBe(3);
    expect(timeout.stderr).toMatch(/still sent after 1 s/);
    const usage = await edgectl(['cmd', 'write', 'gw-ops-1', 'lamp-2', 'level', 'bright']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/<value>: expected a number, true or false, got "bright"/);
    expect((await edgectl(['cmd', 'send', 'gw-ops-1', 'point.write', '--arg', 'dev'])).code).toBe(2);
    const field = await edgectl(['cmd', 'send', 'gw-ops-1', 'point.write', '--arg', 'dev=lamp-2', '--arg', 'value=10']);
    expect(field.code).toBe(1);
    expect(field.stderr).toMatch(/body\.args\.pt: required .*\(REG_VALIDATION\)/);
    const forbidden = await edgectl(['cmd', 'ports', 'gw-ops-1'], viewer);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/role "viewer" may not POST/);
  });

  it('cmd list and show, with --json', async () => {
    const list = await edgectl(['cmd', 'list', 'gw-ops-1', '--state', 'succeeded']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATE\s+ISSUED\s+BY/);
    expect(list.stdout).toMatch(/point\.write\s+succeeded/);
    const json = await edgectl(['cmd', 'list', 'gw-ops-1', '--json']);
    const commands = JSON.parse(json.stdout) as Array<{ id: string; state: string }>;
    expect(commands.length).toBeGreaterThanOrEqual(5);
    const shown = JSON.parse((await edgectl(['cmd', 'show', commands[0]!.id, '--json'])).stdout) as { id: string };
    expect(shown.id).toBe(commands[0]!.id);
    expect((await edgectl(['cmd', 'list', 'gw-ops-1', '--state', 'done'])).code).toBe(2);
  });

  it('alarm list, ack and show; events <gateway>', async () => {
    await gw.send(offline('pump-9', T + 5));
    const line = await eventually(async () => {
      const r = await edgectl(['alarm', 'list', '--gateway', 'gw-ops-1']);
      return r.stdout.split('\n').find((l) => l.includes('device.offline/pump-9'));
    }, 'the alarm in alarm list');
    expect(line).toMatch(/^\d+\s+gw-ops-1\s+device\.offline\/pump-9\s+raised\s+warning/);
    const id = line.split(/\s+/)[0]!;
    expect((await edgectl(['alarm', 'ack', id], viewer)).code).toBe(1);
    const ack = await edgectl(['alarm', 'ack', id, '--note', 'crew sent']);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toMatch(/acknowledged \(still active until the gateway clears it\)/);
    const again = await edgectl(['alarm', 'ack', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already acknowledged by tech-lan .*\(REG_CONFLICT\)/);
    const show = await edgectl(['alarm', 'show', id]);
    expect(show.stdout).toMatch(/acknowledged: .* by tech-lan: crew sent/);
    expect(show.stdout).toMatch(/raised\s+gateway:gw-ops-1/);
    const json = JSON.parse((await edgectl(['alarm', 'list', '--state', 'acknowledged', '--json'])).stdout) as Array<{ id: number }>;
    expect(json.map((a) => a.id)).toContain(Number(id));
    expect((await edgectl(['alarm', 'list', '--severity', 'loud'])).code).toBe(2);
    expect((await edgectl(['alarm', 'show', 'x1'])).code).toBe(2);

    const events = await edgectl(['events', 'gw-ops-1', '--type', 'device.offline', '--since', '1d']);
    expect(events.code, events.stderr).toBe(0);
    expect(events.stdout.split('\n')[0]).toMatch(/^TIME\s+SEQ\s+TYPE\s+SEVERITY\s+DEVICE\s+MESSAGE/);
    expect(events.stdout).toMatch(/device\.offline\s+warning\s+pump-9\s+pump-9 stopped answering/);
    expect((await edgectl(['events', 'gw-ops-1', '--since', 'yesterday'])).code).toBe(2);
    expect((await edgectl(['events'])).code).toBe(2);
  });
});
