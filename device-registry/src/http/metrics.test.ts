import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, type OpenedRegistry } from '../server.js';
import { SYSTEM } from '../service/context.js';

const ADMIN = 'admin-token-for-metrics-tests-012345';

let dir: string;
let registry: OpenedRegistry;

const call = (method: 'GET' | 'POST', url: string, token?: string, payload?: unknown) =>
  registry.app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload !== undefined && { payload: payload as object }) });

/** The value of one sample line, e.g. `name{a="b"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'registry-metrics-'));
  registry = await openRegistry({ dataDir: dir, brokerInfo: { url: 'mqtt://127.0.0.1:1883' }, logger: pino({ level: 'silent' }), adminToken: ADMIN });
});

afterAll(async () => {
  await registry?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('registry /metrics', () => {
  it('needs a viewer token', async () => {
    const anon = await call('GET', '/metrics');
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toMatchObject({ error: { code: 'REG_UNAUTHORIZED' } });
    const viewer = (await registry.services.tokens.create({ name: 'prometheus', role: 'viewer' }, SYSTEM)).token;
    const ok = await call('GET', '/metrics', viewer);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.body).toContain('# TYPE cityedge_registry_process_resident_memory_bytes gauge');
    // Only the parts that run are reported: no broker or ingest here.
    expect(ok.body).not.toContain('cityedge_registry_broker_');
    expect(ok.body).not.toContain('cityedge_registry_ingest_');
  });

  it('counts requests by route pattern and status, enrollments by answer, gateways by state', async () => {
    await call('POST', '/v1/sites', ADMIN, { id: 'hue', name: 'Hue', timeZone: 'Asia/Ho_Chi_Minh' });
    for (const id of ['gw-m1', 'gw-m2', 'gw-m3']) expect((await call('POST', '/v1/gateways', ADMIN, { id, siteId: 'hue' })).statusCode).toBe(201);
    const created = await call('POST', '/v1/gateways', ADMIN, { id: 'gw-m4' });
    await registry.services.fleet.onStatus('gw-m1', { v: 1, gw: 'gw-m1', state: 'online', ts: Date.now(), agentVersion: '0.1.0', configVersion: 0, backlog: 0, devicesFailing: 0, startedAt: Date.now() });
    await registry.services.fleet.onStatus('gw-m2', { v: 1, gw: 'gw-m2', state: 'offline', ts: Date.now() });
    await call('GET', '/v1/gateways/gw-m1', ADMIN);
    await call('GET', '/v1/gateways/gw-m2', ADMIN);
    await call('GET', '/v1/gateways/nope', ADMIN);
    await call('GET', '/no/such/route');
    const code = (created.json() as { enrollment: { code: string } }).enrollment.code;
    expect((await call('POST', '/v1/enroll', undefined, { code })).statusCode).toBe(200);
    expect((await call('POST', '/v1/enroll', undefined, { code })).statusCode).toBe(409);
    expect((await call('POST', '/v1/enroll', undefined, { code: 'AAAA-BBBB-CCCC-DDDD' })).statusCode).toBe(401);
    expect((await call('POST', '/v1/enroll', undefined, {})).statusCode).toBe(400);

    const text = (await call('GET', '/metrics', ADMIN)).body;
    expect(sample(text, 'cityedge_registry_http_requests_total{method="GET",route="/v1/gateways/:id",status="200"}')).toBe(2);
    expect(sample(text, 'cityedge_registry_http_requests_total{method="GET",route="/v1/gateways/:id",status="404"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_http_requests_total{method="POST",route="/v1/gateways",status="201"}')).toBe(4);
    expect(sample(text, 'cityedge_registry_http_request_duration_seconds_count{method="POST",route="/v1/gateways"}')).toBe(4);
    expect(sample(text, 'cityedge_registry_enrollments_total{result="enrolled",status="200"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_enrollments_total{result="refused",status="409"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_enrollments_total{result="refused",status="401"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_enrollments_total{result="refused",status="400"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_gateways{state="online"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_gateways{state="offline"}')).toBe(1);
    expect(sample(text, 'cityedge_registry_gateways{state="unknown"}')).toBe(2);
    // The *_total gauges of prom-client's defaults are gone (promtool refuses them).
    expect(text).not.toMatch(/^cityedge_registry_nodejs_active_\w+_total /m);
  });
});
