import { describe, expect, it } from 'vitest';
import type { Reading } from '@cityedge/contract';
import { SYSTEM } from '../service/context.js';
import { errorOf, seedGateway } from './fixtures.js';
import type { TestRegistry } from './harness.js';
import { ev, ingest } from './suite-events-alarms.js';

const H = 3600_000;

/** The console's aggregates on any store: the fleet with open alarms, reading series per bucket, accounts. */
export function consoleSuite(reg: () => TestRegistry): void {
  describe('console aggregates', () => {
    it('lists the fleet with status and open alarms per gateway, filtered by site and tag, with totals', async () => {
      const r = reg();
      await seedGateway(r, 'gw-f1', { site: 'hue', tags: ['river'] });
      await seedGateway(r, 'gw-f2', { site: 'hue' });
      await seedGateway(r, 'gw-f3', { site: 'dongha', tags: ['river'] });
      await r.services.fleet.applyStatus('gw-f1', { v: 1, gw: 'gw-f1', state: 'online', ts: r.clock.now(), backlog: 12, devicesFailing: 1, configVersion: 1 });
      const alarm = (key: string, severity: 'warning' | 'critical') => ev('flood.level', { severity, alarm: { key, state: 'raised', level: 'BD_I' } });
      await ingest(r, 'gw-f1', 1, alarm('flood.level/a', 'warning'), alarm('flood.level/b', 'critical'));
      await ingest(r, 'gw-f3', 1, alarm('flood.level/c', 'warning'));
      const id = (await r.services.alarms.list({ gatewayId: 'gw-f1', state: 'open', limit: 10 })).find((a) => a.key === 'flood.level/a')!.id;
      await r.services.alarms.acknowledge(id, undefined, SYSTEM);

      const all = await r.call('GET', '/v1/fleet', { token: r.tokens.viewer });
      expect(all.statusCode, all.body).toBe(200);
      const body = all.json() as { gateways: Array<{ id: string; status: { state: string; backlog: number | null; devicesFailing: number | null }; alarms: unknown }>; totals: unknown };
      expect(body.gateways.map((g) => g.id)).toEqual(['gw-f1', 'gw-f2', 'gw-f3']);
      expect(body.gateways[0]).toMatchObject({ status: { state: 'online', backlog: 12, devicesFailing: 1 }, alarms: { open: 2, unacknowledged: 1, highestSeverity: 'critical' } });
      expect(body.gateways[1]!.alarms).toEqual({ open: 0, unacknowledged: 0, highestSeverity: null });
      expect(body.totals).toEqual({ gateways: 3, online: 1, offline: 0, unknown: 2, openAlarms: 3, unacknowledgedAlarms: 2 });
      const river = (await r.call('GET', '/v1/fleet?tag=river', { token: r.tokens.viewer })).json() as typeof body;
      expect(river.gateways.map((g) => g.id)).toEqual(['gw-f1', 'gw-f3']);
      const hue = (await r.call('GET', '/v1/fleet?site=hue', { token: r.tokens.viewer })).json() as typeof body;
      expect(hue.gateways.map((g) => g.id)).toEqual(['gw-f1', 'gw-f2']);
    });

    it('answers a point over hours as min/avg/max per bucket (good numeric readings only) and refuses bad ranges naming the field', async () => {
      const r = reg();
      await seedGateway(r, 'gw-s1');
      const t0 = Date.UTC(2030, 0, 1);
      const rd = (pt: string, v: Reading['v'], ts: number, q: Reading['q'] = 'good'): Reading => ({ dev: 'lvl-1', pt, v, q, ts, u: 'cm', ...(q === 'bad' && { err: 'EDGE_MODBUS_TIMEOUT' }) });
      // Hour 0: 10, 20, 30; hour 1: 5 and a bad reading; hour 3: 7; a text value and another point never count.
      await r.services.telemetry.insertTelemetryBatch('gw-s1', 1, [rd('level', 10, t0), rd('level', 20, t0 + 10 * 60_000), rd('level', 30, t0 + 50 * 60_000), rd('level', null, t0 + H + 1, 'bad')]);
      await r.services.telemetry.insertTelemetryBatch('gw-s1', 2, [rd('level', 5, t0 + H + 5), rd('level', 'high', t0 + H + 6), rd('level', 7, t0 + 3 * H), rd('temp', 99, t0 + 5)]);
      const res = await r.call('GET', `/v1/gateways/gw-s1/readings/series?device=lvl-1&point=level&from=${t0}&to=${t0 + 4 * H}&step=${H}`, { token: r.tokens.viewer });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        gatewayId: 'gw-s1',
        device: 'lvl-1',
        point: 'level',
        unit: 'cm',
        from: t0,
        to: t0 + 4 * H,
        step: H,
        buckets: [
          { ts: t0, min: 10, avg: 20, max: 30, count: 3 },
          { ts: t0 + H, min: 5, avg: 5, max: 5, count: 1 },
          { ts: t0 + 3 * H, min: 7, avg: 7, max: 7, count: 1 },
        ],
      });
      const dflt = (await r.call('GET', `/v1/gateways/gw-s1/readings/series?device=lvl-1&point=level&to=${t0 + 4 * H}`, { token: r.tokens.viewer })).json() as { from: number; step: number; buckets: unknown[] };
      expect(dflt.from).toBe(t0 + 4 * H - 24 * H);
      expect(dflt.step).toBe((24 * H) / 500);
      expect(dflt.buckets).toHaveLength(5);
      for (const [q, field] of [
        [`from=${t0 + H}&to=${t0}`, 'querystring.from'],
        [`from=${t0}&to=${t0 + 24 * H}&step=10`, 'querystring.step'],
        [`from=${t0}&to=${t0 + 24 * H}&step=1000`, 'querystring.step'],
        ['from=abc', 'querystring.from'],
        ['', 'querystring.device'],
      ] as const) {
        const bad = await r.call('GET', `/v1/gateways/gw-s1/readings/series?${q}${q === '' ? '' : '&device=lvl-1&point=level'}`, { token: r.tokens.viewer });
        expect(bad.statusCode, `${q}: ${bad.body}`).toBe(400);
        expect(errorOf(bad).field, q).toBe(field);
      }
      expect((await r.call('GET', '/v1/gateways/nope/readings/series?device=a&point=b', { token: r.tokens.viewer })).statusCode).toBe(404);
    });

    it('keeps accounts and sessions (created, found by cookie, ended) on this store', async () => {
      const r = reg();
      await r.services.accounts.create({ username: 'lan', role: 'technician', password: 'river watch 1' }, SYSTEM);
      const s = await r.services.accounts.signIn('lan', 'river watch 1', '10.0.0.1');
      const actor = await r.services.accounts.authenticate(s.cookie);
      expect(actor).toMatchObject({ kind: 'user', username: 'lan', role: 'technician', csrfToken: s.csrfToken });
      await r.services.accounts.signOut(actor!, '10.0.0.1');
      expect(await r.services.accounts.authenticate(s.cookie)).toBeUndefined();
      await r.services.accounts.delete('lan', SYSTEM);
      expect(await r.services.accounts.list()).toEqual([]);
    });
  });
}
