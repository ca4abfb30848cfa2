import { describe, expect, it } from 'vitest';
import type { Reading } from '@cityedge/contract';
import { enroll, seedGateway } from './fixtures.js';
import type { TestRegistry } from './harness.js';
import { report } from './suite-config.js';

interface RolloutBody {
  id: string;
  state: string;
  reason: string | null;
  progress: { total: number; applied: number; committed: number; failed: number; pending: number };
  gateways: Array<{ gatewayId: string; phase: string; version: number | null; state: string }>;
}

async function fleet(r: TestRegistry, n: number, tag = 'wave-1'): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `gw-r${i + 1}`);
  for (const id of ids) await seedGateway(r, id, { tags: [tag] });
  return ids;
}

const reading = (dev: string, pt: string, ts: number, v: Reading['v']): Reading => ({ dev, pt, ts, v, q: 'good', u: '°C' });

export function fleetSuite(reg: () => TestRegistry): void {
  describe('rollouts', () => {
    it('halts when a canary rolls back, and the rest never get the configuration', async () => {
      const r = reg();
      const ids = await fleet(r, 4);
      const res = await r.call('POST', '/v1/rollouts', { token: r.tokens.technician, body: { tag: 'wave-1', canary: 2, note: 'poll faster' } });
      expect(res.statusCode, res.body).toBe(201);
      const ro = res.json() as RolloutBody;
      expect(ro).toMatchObject({ state: 'canary', progress: { total: 4, pending: 4, applied: 0, failed: 0 } });
      expect(r.publisher.published.map((p) => p.gatewayId)).toEqual(['gw-r1', 'gw-r2']);
      await r.services.fleet.onReport(report('gw-r1', 1, 'committed'), 'gw-r1');
      await r.services.fleet.onReport(report('gw-r2', 1, 'applied'), 'gw-r2');
      await r.services.fleet.onReport(report('gw-r2', 1, 'rolled_back', { reason: 'broker link lost', running: 0 }), 'gw-r2');
      const after = (await r.call('GET', `/v1/rollouts/${ro.id}`, { token: r.tokens.viewer })).json() as RolloutBody;
      expect(after.state).toBe('halted');
      expect(after.reason).toMatch(/gw-r2 rolled back: broker link lost/);
      expect(after.progress).toEqual({ total: 4, applied: 1, committed: 1, failed: 1, pending: 2 });
      // a late commit from the other canary does not restart it
      await r.services.fleet.onReport(report('gw-r1', 1, 'committed'), 'gw-r1');
      expect(r.publisher.published.map((p) => p.gatewayId)).toEqual(['gw-r1', 'gw-r2']);
      for (const id of ids.slice(2)) expect((await r.call('GET', `/v1/gateways/${id}/configs`, { token: r.tokens.viewer })).json()).toEqual({ versions: [] });
    });

    it('publishes to the rest after every canary commits, and completes when all have reported', async () => {
      const r = reg();
      await fleet(r, 3);
      const ro = (await r.call('POST', '/v1/rollouts', { token: r.tokens.technician, body: { tag: 'wave-1', canary: 1 } })).json() as RolloutBody;
      expect(r.publisher.published.map((p) => p.gatewayId)).toEqual(['gw-r1']);
      await r.services.fleet.onReport(report('gw-r1', 1, 'applied'), 'gw-r1');
      expect(r.publisher.published).toHaveLength(1);
      await r.services.fleet.onReport(report('gw-r1', 1, 'committed'), 'gw-r1');
      expect(r.publisher.published.map((p) => p.gatewayId)).toEqual(['gw-r1', 'gw-r2', 'gw-r3']);
      let view = (await r.call('GET', `/v1/rollouts/${ro.id}`, { token: r.tokens.viewer })).json() as RolloutBody;
      expect(view).toMatchObject({ state: 'rolling', progress: { total: 3, applied: 1, committed: 1, failed: 0, pending: 2 } });
      await r.services.fleet.onReport(report('gw-r2', 1, 'committed'), 'gw-r2');
      await r.services.fleet.onReport(report('gw-r3', 1, 'rejected', { reason: 'bad signature', running: 0 }), 'gw-r3');
      view = (await r.call('GET', `/v1/rollouts/${ro.id}`, { token: r.tokens.viewer })).json() as RolloutBody;
      expect(view).toMatchObject({ state: 'completed', progress: { total: 3, applied: 2, committed: 2, failed: 1, pending: 0 } });
      expect(view.reason).toMatch(/1 of 3/);
      const list = (await r.call('GET', '/v1/rollouts', { token: r.tokens.viewer })).json() as { rollouts: RolloutBody[] };
      expect(list.rollouts.map((x) => x.id)).toEqual([ro.id]);
    });

    it('targets a site, and refuses an empty target or a fleet with an invalid configuration before publishing', async () => {
      const r = reg();
      await seedGateway(r, 'gw-s1', { site: 'old-town' });
      await seedGateway(r, 'gw-s2', { site: 'docks' });
      const ro = (await r.call('POST', '/v1/rollouts', { token: r.tokens.technician, body: { site: 'old-town', canary: 0 } })).json() as RolloutBody;
      expect(ro).toMatchObject({ state: 'rolling', gateways: [{ gatewayId: 'gw-s1', phase: 'rest', version: 1, state: 'pending' }] });
      const empty = await r.call('POST', '/v1/rollouts', { token: r.tokens.technician, body: { tag: 'nobody', canary: 1 } });
      expect(empty.statusCode).toBe(400);
      expect(empty.json()).toMatchObject({ error: { code: 'REG_VALIDATION', field: 'body.tag' } });
    });
  });

  describe('fleet status', () => {
    it('follows status messages: online, last seen, versions, backlog; a payload naming another gateway is ignored', async () => {
      const r = reg();
      await seedGateway(r, 'gw-st');
      const t0 = r.clock.now();
      expect(await r.services.fleet.applyStatus('gw-st', { v: 1, gw: 'gw-st', state: 'online', ts: 5, agentVersion: '0.3.0', configVersion: 4, backlog: 120, devicesFailing: 1 })).toBe(true);
      r.clock.advance(30_000);
      expect(await r.services.fleet.applyStatus('gw-st', { v: 1, gw: 'gw-st', state: 'offline', ts: 6 })).toBe(true);
      expect(await r.services.fleet.applyStatus('gw-st', { v: 1, gw: 'gw-evil', state: 'online', ts: 7 })).toBe(false);
      expect(await r.services.fleet.applyStatus('gw-st', { v: 1, gw: 'gw-st', state: 'asleep', ts: 7 })).toBe(false);
      expect(await r.services.fleet.applyStatus('gw-st', 'not json')).toBe(false);
      expect(await r.services.fleet.applyStatus('gw-nobody', { v: 1, gw: 'gw-nobody', state: 'online', ts: 7 })).toBe(false);
      const gw = (await r.call('GET', '/v1/gateways/gw-st', { token: r.tokens.viewer })).json() as { status: Record<string, unknown> };
      expect(gw.status).toEqual({ state: 'offline', since: t0 + 30_000, lastSeen: t0, agentVersion: '0.3.0', configVersionRunning: 4, backlog: 120, devicesFailing: 1, problems: null });
    });

    it('keeps the line and device problems a config report carries, refreshed by the same report sent again', async () => {
      const r = reg();
      await seedGateway(r, 'gw-pr');
      expect((await r.call('POST', '/v1/gateways/gw-pr/configs', { token: r.tokens.technician })).statusCode).toBe(201);
      const portGone = { line: 'rs485', code: 'EDGE_MODBUS_PORT', cause: 'ENOENT', message: 'cannot open /dev/ttyUSB7 9600 8N1: No such file or directory', since: 100 };
      const neverAnswered = { dev: 'radar', line: 'rs485', state: 'never-answered' as const, code: 'EDGE_MODBUS_PORT', message: 'never answered (2 polls, EDGE_MODBUS_PORT)', since: 100 };
      await r.services.fleet.onReport(report('gw-pr', 1, 'committed', { problems: { lines: [portGone], devices: [neverAnswered] } }), 'gw-pr');
      const view = async () => ((await r.call('GET', '/v1/gateways/gw-pr', { token: r.tokens.viewer })).json() as { status: Record<string, unknown> }).status;
      expect(await view()).toMatchObject({ configVersionRunning: 1, devicesFailing: 1, problems: { version: 1, lines: [portGone], devices: [neverAnswered] } });
      // The adapter is plugged in: the gateway sends the same report again with no problems.
      expect(await r.services.fleet.applyReport(report('gw-pr', 1, 'committed', { problems: { lines: [], devices: [] } }), 'gw-pr')).toBe(false);
      expect(await view()).toMatchObject({ devicesFailing: 0, problems: { version: 1, lines: [], devices: [] } });
      // Malformed problems: the whole report is ignored, the last good problems stay.
      expect(await r.services.fleet.applyReport({ ...report('gw-pr', 1, 'committed'), problems: { lines: 'all of them' } }, 'gw-pr')).toBe(false);
      expect(await view()).toMatchObject({ devicesFailing: 0, problems: { lines: [], devices: [] } });
    });
  });

  describe('telemetry', () => {
    it('stores a batch once by (gateway, seq) and serves recent readings', async () => {
      const r = reg();
      await seedGateway(r, 'gw-t');
      const batch = [reading('th-1', 'temperature', 1000, 21.5), reading('th-1', 'humidity', 1000, 40), { dev: 'th-1', pt: 'temperature', ts: 2000, v: null, q: 'bad' as const, err: 'EDGE_MODBUS_TIMEOUT' }];
      expect(await r.store.telemetry.insertTelemetryBatch('gw-t', 1, batch)).toBe(true);
      expect(await r.store.telemetry.insertTelemetryBatch('gw-t', 1, batch)).toBe(false);
      expect(await r.store.telemetry.insertTelemetryBatch('gw-t', 2, [reading('th-1', 'temperature', 3000, 22)])).toBe(true);
      expect(await r.store.telemetry.insertTelemetryBatch('gw-other', 1, batch)).toBe(true);
      expect(await r.store.telemetry.insertTelemetryBatch('gw-t', 3, [])).toBe(true);
      expect(await r.store.telemetry.lastSeq('gw-t')).toBe(3);
      const all = await r.store.telemetry.recentReadings('gw-t', 'th-1', undefined, 10);
      expect(all).toHaveLength(4);
      const temps = await r.store.telemetry.recentReadings('gw-t', 'th-1', 'temperature', 10);
      expect(temps.map((x) => [x.seq, x.ts, x.v, x.q])).toEqual([
        [2, 3000, 22, 'good'],
        [1, 2000, null, 'bad'],
        [1, 1000, 21.5, 'good'],
      ]);
      expect(temps[1]).toMatchObject({ err: 'EDGE_MODBUS_TIMEOUT' });
      const res = await r.call('GET', '/v1/gateways/gw-t/readings?device=th-1&point=temperature&limit=2', { token: r.tokens.viewer });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ gatewayId: 'gw-t', device: 'th-1', readings: [expect.objectContaining({ ts: 3000, v: 22, u: '°C' }), expect.objectContaining({ ts: 2000, v: null, err: 'EDGE_MODBUS_TIMEOUT' })] });
      expect((await r.call('GET', '/v1/gateways/gw-none/readings?device=x', { token: r.tokens.viewer })).statusCode).toBe(404);
    });

    it('stores large batches (over one INSERT chunk) in one piece', async () => {
      const r = reg();
      const many = Array.from({ length: 2500 }, (_, i) => reading('th-1', 'temperature', i, i / 10));
      expect(await r.store.telemetry.insertTelemetryBatch('gw-big', 9, many)).toBe(true);
      expect(await r.store.telemetry.recentReadings('gw-big', 'th-1', 'temperature', 1)).toEqual([expect.objectContaining({ ts: 2499, seq: 9, v: 249.9 })]);
    });
  });

  describe('audit', () => {
    it('records who changed what, and no password, code or token ever reaches the audit log or the logs', async () => {
      const r = reg();
      const { code } = await seedGateway(r, 'gw-au', { site: 'plaza' });
      const id = await enroll(r, code);
      const tok = (await r.call('POST', '/v1/tokens', { token: r.tokens.admin, body: { name: 'ci', role: 'technician' } })).json() as { token: string };
      await r.call('POST', '/v1/gateways/gw-au/cameras', { token: r.tokens.technician, body: { id: 'cam1', name: 'Plaza', host: '10.0.0.5', password: 'cam-pass-4411' } });
      await r.call('POST', '/v1/gateways/gw-au/configs', { token: r.tokens.technician, body: {} });
      await r.services.fleet.onReport(report('gw-au', 1, 'committed'), 'gw-au');
      await r.call('GET', '/v1/sites', { headers: { authorization: `Bearer ${tok.token}x` } });

      const res = await r.call('GET', '/v1/audit?limit=100', { token: r.tokens.viewer });
      expect(res.statusCode).toBe(200);
      const entries = (res.json() as { entries: Array<{ action: string; actor: { id: string; name: string | null }; target: { id: string } }> }).entries;
      const actions = entries.map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['site.create', 'gateway.create', 'enrollment.code.issue', 'line.create', 'device.create', 'gateway.enroll', 'token.create', 'camera.create', 'config.issue', 'config.report']));
      expect(entries.find((e) => e.action === 'gateway.create')?.actor).toMatchObject({ name: 'tech-ana', id: expect.stringMatching(/^token:/) });
      expect(entries.find((e) => e.action === 'gateway.enroll')?.actor.id).toBe('enrollment');
      expect(entries.find((e) => e.action === 'config.report')?.actor.id).toBe('gateway:gw-au');
      const filtered = (await r.call('GET', '/v1/audit?targetType=gateway&targetId=gw-au&action=gateway.enroll', { token: r.tokens.viewer })).json() as { entries: unknown[] };
      expect(filtered.entries).toHaveLength(1);

      const rows = JSON.stringify(await r.store.audit.list({ limit: 1000 }));
      const logs = r.logs.join('');
      const secrets = [code, code.replace(/-/g, ''), id.mqtt.password, tok.token, r.tokens.technician, r.tokens.admin, r.tokens.viewer, 'cam-pass-4411'];
      for (const s of secrets) {
        expect(rows).not.toContain(s);
        expect(logs).not.toContain(s);
      }
      expect(logs).toContain('gateway enrolled');
    });

    it('records broker denials from outside the services, at most 20 a minute per actor and action', async () => {
      const r = reg();
      for (let i = 0; i < 25; i++) {
        await r.services.audit.recordExternal({ action: 'mqtt.publish.denied', actor: 'gateway:gw-x', at: r.clock.now(), details: { reason: 'not its topic', topic: 'edge/v1/gw-y/telemetry', remoteAddress: '10.0.0.9', password: 'leak?' } });
      }
      const denied = await r.store.audit.list({ limit: 100, action: 'mqtt.publish.denied' });
      expect(denied).toHaveLength(20);
      expect(denied[0]).toMatchObject({ actor: { id: 'gateway:gw-x' }, target: { type: 'mqtt', id: 'edge/v1/gw-y/telemetry' }, sourceIp: '10.0.0.9', details: { password: '[redacted]' } });
      r.clock.advance(60_000);
      await r.services.audit.recordExternal({ action: 'mqtt.publish.denied', actor: 'gateway:gw-x', at: r.clock.now(), details: { reason: 'again' } });
      expect(await r.store.audit.list({ limit: 100, action: 'mqtt.publish.denied' })).toHaveLength(21);
    });
  });
}
