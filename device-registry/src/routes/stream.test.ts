import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEvent, Reading } from '@cityedge/contract';
import { eventually, quiet, tempDir } from '@cityedge/test-support';
import { rmSync } from 'node:fs';
import { startCentral, type Central } from '../central.js';
import { SYSTEM } from '../service/context.js';
import { FakeGateway } from '../testing/fake-gateway.js';
import { SseClient } from '../testing/sse-client.js';

/**
 * The console's event stream over real sockets: the registry with its embedded broker and
 * SQLite, a fake gateway (a real MQTT client with enrolled credentials) publishing status,
 * telemetry and events, and SSE clients reading GET /v1/stream over HTTP.
 */
const ADMIN = 'stream-admin-token-0123456789abcdef';
let central: Central;
let dir: string;
let cookie: string;
let csrf: string;
const gateways: FakeGateway[] = [];
const clients: SseClient[] = [];

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` }): Promise<{ status: number; body: any }> {
  const res = await fetch(`${central.url}${path}`, { method, headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function stream(query: string, headers: Record<string, string> = { cookie: `cityedge_session=${cookie}` }): Promise<SseClient> {
  const c = await SseClient.open(`${central.url}/v1/stream${query}`, headers);
  clients.push(c);
  return c;
}

async function gateway(id: string): Promise<FakeGateway> {
  const created = await api('POST', '/v1/gateways', { id, siteId: 'dongha' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const g = await FakeGateway.enroll(central.url, created.body.enrollment.code);
  gateways.push(g);
  return g;
}

const reading = (dev: string, pt: string, v: number, ts: number, u = 'cm'): Reading => ({ dev, pt, v, q: 'good', ts, u });
const flood = (state: 'raised' | 'cleared', level?: string): GatewayEvent => ({ type: 'flood.level', ts: Date.now(), severity: 'alarm', message: `river ${state}`, alarm: { key: 'flood.level/dongha', state, ...(level && { level }) } });

beforeAll(async () => {
  dir = tempDir('cityedge-stream-');
  central = await startCentral({ dataDir: dir, logger: quiet, http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, adminToken: ADMIN });
  await central.registry.services.accounts.create({ username: 'lan', displayName: 'Lan', role: 'technician', password: 'river watch 1' }, SYSTEM);
  const res = await fetch(`${central.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'lan', password: 'river watch 1' }) });
  cookie = /cityedge_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  expect((await api('POST', '/v1/sites', { id: 'dongha', name: 'Đông Hà', timeZone: 'Asia/Ho_Chi_Minh' })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const g of gateways) await g.disconnect().catch(() => undefined);
  await central?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('GET /v1/stream (Server-Sent Events)', () => {
  it("delivers a gateway's status, readings and alarms as they happen, and stops on disconnect", async () => {
    const g = await gateway('gw-st-1');
    const s = await stream('?gateway=gw-st-1');
    expect(s.status).toBe(200);
    await eventually(async () => s.retry, 10_000, 'the retry field');
    expect(s.retry).toBe(3000);
    await g.connect();
    const status = await eventually(async () => s.of('gateway.status').find((e) => e.data.status === 'online'), 20_000, 'gateway.status online');
    expect(status.data).toMatchObject({ gatewayId: 'gw-st-1', status: 'online' });
    expect(typeof status.data.lastSeen).toBe('number');

    const t = Date.now();
    await g.sendReadings([reading('level-1', 'level', 182.5, t), reading('rain-1', 'rain', 3, t, 'mm'), reading('level-1', 'battery', 12.1, t, 'V')]);
    await eventually(async () => (s.of('readings').length >= 2 ? true : undefined), 20_000, 'two readings events');
    expect(s.of('readings').map((e) => e.data)).toEqual([
      { gatewayId: 'gw-st-1', deviceId: 'level-1', readings: [{ point: 'level', value: 182.5, unit: 'cm', quality: 'good', ts: t }, { point: 'battery', value: 12.1, unit: 'V', quality: 'good', ts: t }] },
      { gatewayId: 'gw-st-1', deviceId: 'rain-1', readings: [{ point: 'rain', value: 3, unit: 'mm', quality: 'good', ts: t }] },
    ]);

    await g.send(flood('raised', 'BD_II'));
    const raised = await eventually(async () => s.of('alarm').find((e) => e.data.level === 'BD_II'), 20_000, 'the alarm event');
    expect(raised.data).toMatchObject({ gatewayId: 'gw-st-1', key: 'flood.level/dongha', state: 'raised', level: 'BD_II', acknowledgedBy: null });
    const ack = await api('POST', `/v1/alarms/${raised.data.id}/ack`, { note: 'seen' }, { cookie: `cityedge_session=${cookie}`, 'x-csrf-token': csrf });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    const acked = await eventually(async () => s.of('alarm').find((e) => e.data.acknowledgedBy !== null), 20_000, 'the acknowledged alarm');
    expect(acked.data.acknowledgedBy).toBe('user:lan');

    const hub = central.registry.services.hub;
    const before = hub.size;
    s.close();
    await eventually(async () => (hub.size === before - 1 ? true : undefined), 20_000, 'the subscription to end');
    await g.sendReadings([reading('level-1', 'level', 183, Date.now())]);
    expect(s.of('readings')).toHaveLength(2);
  });

  it('sends fleet-wide subscribers status and alarms of every gateway but no readings; topics filter', async () => {
    const fleet = await stream('');
    const alarmsOnly = await stream('?topics=alarms', { authorization: `Bearer ${ADMIN}` });
    const g = await gateway('gw-st-2');
    await g.connect();
    await eventually(async () => fleet.of('gateway.status').find((e) => e.data.gatewayId === 'gw-st-2'), 20_000, 'gw-st-2 status');
    await g.sendReadings([reading('level-2', 'level', 90, Date.now())]);
    await g.send(flood('raised', 'BD_I'));
    await eventually(async () => fleet.of('alarm').find((e) => e.data.gatewayId === 'gw-st-2'), 20_000, 'the fleet alarm');
    await eventually(async () => alarmsOnly.of('alarm').find((e) => e.data.gatewayId === 'gw-st-2'), 20_000, 'the alarms-only alarm');
    expect(fleet.of('readings')).toEqual([]);
    expect(alarmsOnly.events.every((e) => e.event === 'alarm')).toBe(true);
  });

  it('refuses bad filters, unknown gateways and missing credentials', async () => {
    const bad = await api('GET', '/v1/stream?topics=status,weather');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('querystring.topics');
    expect((await api('GET', '/v1/stream?gateway=gw-nowhere')).status).toBe(404);
    expect((await api('GET', '/v1/stream', undefined, {})).status).toBe(401);
    expect((await api('GET', '/v1/stream', undefined, { cookie: 'cityedge_session=not-a-session-at-all-0123456789' })).status).toBe(401);
  });

  it('drops readings for a client that does not read, tells it how many once it reads again, and closes a stream that falls too far behind', async () => {
    await gateway('gw-st-3');
    const hub = central.registry.services.hub;
    const stats = central.registry.app.streamStats;
    for (const c of clients) c.close();
    await eventually(async () => (stats.open === 0 ? true : undefined), 20_000, 'earlier streams to close');
    const slow = await stream('?gateway=gw-st-3&topics=readings');
    await eventually(async () => slow.retry, 10_000, 'the stream to open');
    slow.pause();
    const big = { gatewayId: 'gw-st-3', deviceId: 'cam-like', readings: [{ point: 'blob', value: 'x'.repeat(4000), unit: null, quality: 'good', ts: 1 }] };
    // Published straight into the hub: the point is the server's buffer, not the ingest rate.
    for (let i = 0; i < 20 && stats.droppedReadings === 0; i++) {
      for (let j = 0; j < 500; j++) hub.publish('readings', 'gw-st-3', big);
      await new Promise((r) => setImmediate(r));
    }
    expect(stats.droppedReadings).toBeGreaterThan(0);
    slow.resume();
    const small = { gatewayId: 'gw-st-3', deviceId: 'level-3', readings: [{ point: 'level', value: 1, unit: 'cm', quality: 'good', ts: 2 }] };
    const dropped = await eventually(
      async () => {
        hub.publish('readings', 'gw-st-3', small);
        await new Promise((r) => setTimeout(r, 10));
        return slow.of('dropped')[0];
      },
      60_000,
      'the dropped event',
    );
    expect(dropped.data.readings).toBeGreaterThan(0);
    expect(slow.events.at(-1)?.data).toEqual(small);
    slow.close();

    const behind = await stream('?gateway=gw-st-3&topics=alarms');
    await eventually(async () => behind.retry, 10_000, 'the stream to open');
    behind.pause();
    const open = stats.open;
    const alarm = { id: 0, gatewayId: 'gw-st-3', message: 'y'.repeat(8000) };
    for (let i = 0; i < 40 && stats.closedSlow === 0; i++) {
      for (let j = 0; j < 500; j++) hub.publish('alarms', 'gw-st-3', alarm);
      await new Promise((r) => setImmediate(r));
    }
    expect(stats.closedSlow).toBe(1);
    expect(stats.open).toBe(open - 1);
    behind.resume();
    await eventually(async () => (behind.closed ? true : undefined), 20_000, 'the slow stream to end');
  });
});
